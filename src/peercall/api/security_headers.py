"""Security headers on every response; a strict Content-Security-Policy on HTML pages.

The web client has no inline script, so ``script-src 'self'`` holds (plus
``'wasm-unsafe-eval'``: WebAssembly compilation for the effects' segmentation model, no eval); the WebSocket is
same-origin, so ``connect-src 'self'`` covers it (CSP 3 matches ws/wss for 'self').
The embedding origins (``embed_origins``) may frame the pages and serve the logo they show.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(frame_ancestors: str, embed_origins: tuple[str, ...] = ()) -> str:
    embedders = "".join(f" {origin}" for origin in embed_origins)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",  # effects: MediaPipe segmentation wasm (no eval)
            "style-src 'self' 'unsafe-inline'",  # Swagger UI sets inline styles
            f"img-src 'self' data: blob:{embedders}",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}{embedders}",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: str = "'self'", embed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.csp = content_security_policy(frame_ancestors, embed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", self.csp)
                    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
            await send(message)

        await self.app(scope, receive, send_with_headers)
