"""Map every failure to one JSON error shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peercall.errors import ERRORS, PeercallError
from peercall.hub.base import HubUnavailable

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PeercallError)
    async def _peercall(_: Request, exc: PeercallError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.kind.http_status == 401 else None
        return JSONResponse(exc.to_http_body(), exc.kind.http_status, headers=headers)

    @app.exception_handler(HubUnavailable)
    async def _hub_unavailable(request: Request, exc: HubUnavailable) -> JSONResponse:
        # Redis away (or the node's pool saturated): a retryable 503, not a 500 with a traceback.
        log.warning("hub unavailable: %s %s answered 503", request.method, request.url.path, extra={"error": str(exc)})
        error = PeercallError("hub_unavailable", "the room hub is unreachable for a moment; retry shortly")
        return JSONResponse(error.to_http_body(), error.kind.http_status, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        body = {"error": {"code": "bad_request", "message": f"{where}: {first['msg']}"}}
        return JSONResponse(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "bad_request"
        # An unparseable body is a bad_request like any invalid one (422); keep Allow on 405.
        status = ERRORS["bad_request"].http_status if exc.status_code == 400 else exc.status_code
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # one route per method: Allow must list them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


class BodySizeLimit:
    """Reject request bodies over ``max_bytes`` before they are read into memory."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        path_limits: dict[str, int] | None = None,
        overrides: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}  # exact paths with their own (still bounded) cap
        self.overrides = overrides or {}  # path prefix → its own limit (e.g. recording chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.path_limits.get(path) or next(
            (v for prefix, v in self.overrides.items() if path.startswith(prefix)), self.max_bytes
        )
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PeercallError("payload_too_large", f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"error":{{"code":"payload_too_large","message":"request body exceeds {limit} bytes"}}}}'.encode()
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
