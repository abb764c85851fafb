"""Transport-level HTTP controls: HSTS on TLS, CORS only for configured origins.

The page-level headers (CSP, nosniff, frame-ancestors) live in
:mod:`peercall.api.security_headers`; this module adds what depends on deployment
settings. With no ``cors_origins`` no CORS header is ever sent, so a browser on
another site cannot read any API response (the API uses bearer keys, never cookies).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peercall.config import Settings


class StrictTransportSecurity:
    """``Strict-Transport-Security`` on responses served over TLS (never on plain HTTP,
    where it would be ignored and would mislead a reader of the headers)."""

    def __init__(self, app: ASGIApp, max_age: int) -> None:
        self.app = app
        self.value = f"max-age={max_age}; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Strict-Transport-Security", self.value)
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def install_http_security(app: FastAPI, settings: Settings) -> None:
    if settings.hsts_max_age:
        app.add_middleware(StrictTransportSecurity, max_age=settings.hsts_max_age)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
