"""``/ws`` straight to the signaling endpoint, in front of the FastAPI app.

Why: a WebSocket lives as long as the call, and every ASGI layer it passes through (about
a dozen here: FastAPI's and Starlette's exception and body-limit middleware, ours for
security headers, audit and body size, the router) keeps a coroutine frame alive for the
whole connection and wraps ``send``/``receive`` for each frame. None of them does anything
for ``/ws``: ours act on HTTP only, and the endpoint answers its own errors with error
frames. The signaling path is the one that scales with users, so it skips them. Every
other request, and ``/ws`` before the services are up, goes to the app as usual.

``peercall serve`` goes one step further: :func:`signaling_protocol` takes ``/ws`` sockets
before ASGI (no ASGI WebSocket at all); the ASGI fast path stays for whoever serves the
app with another server.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from peercall.signaling.websocket import SignalingEndpoint
from peercall.signaling.ws_protocol import SignalingProtocol

SIGNALING_PATH = "/ws"


class SignalingFastPath:
    """The ASGI app to serve: ``app`` with ``/ws`` routed around its middleware."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == SIGNALING_PATH:
            services = getattr(self.app.state, "services", None)
            if services is not None:
                await services.signaling(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)


def signaling_protocol(app: FastAPI) -> type[SignalingProtocol]:
    """uvicorn's WebSocket protocol (``ws=``) for ``app``: ``/ws`` without ASGI once the
    services are up (see :mod:`peercall.signaling.ws_protocol`), the rest through the app."""

    def endpoint() -> SignalingEndpoint | None:
        services = getattr(app.state, "services", None)
        return services.signaling if services is not None else None

    return SignalingProtocol.serving(endpoint, SIGNALING_PATH)
