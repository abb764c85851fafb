"""``/ws`` straight to the signaling endpoint, in front of the FastAPI app.

Why: a WebSocket lives as long as the call, and every ASGI layer it passes through (about
a dozen here: FastAPI's and Starlette's exception and body-limit middleware, ours for
security headers, audit and body size, the router) keeps a coroutine frame alive for the
whole connection and wraps ``send``/``receive`` for each frame. None of them does anything
for ``/ws``: ours act on HTTP only, and the endpoint answers its own errors with error
frames. The signaling path is the one that scales with users, so it skips them. Every
other request, and ``/ws`` before the services are up, goes to the app as usual.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

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
