"""`/ws` goes straight to the signaling endpoint; everything else (and `/ws` before the
services are up) goes through the app and its middleware."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.websockets import WebSocket

from peercall.api.signaling_path import SignalingFastPath


class _App:
    """Stands in for the FastAPI app: records what reached its middleware stack."""

    def __init__(self) -> None:
        self.state = SimpleNamespace()
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.seen.append((scope["type"], scope.get("path", "")))


async def _noop_receive() -> dict[str, Any]:
    return {"type": "websocket.connect"}


async def _noop_send(message: dict[str, Any]) -> None:
    return None


async def test_call_signaling_fast_path_routes_only_ws_around_the_app() -> None:
    app = _App()
    endpoint_saw: list[WebSocket] = []

    async def signaling(websocket: WebSocket) -> None:
        endpoint_saw.append(websocket)

    fast = SignalingFastPath(app)  # type: ignore[arg-type]
    ws_scope = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b""}
    await fast(ws_scope, _noop_receive, _noop_send)  # services not up yet: the app answers
    assert app.seen == [("websocket", "/ws")] and endpoint_saw == []

    app.state.services = SimpleNamespace(signaling=signaling)
    await fast(ws_scope, _noop_receive, _noop_send)
    await fast({"type": "http", "path": "/ws"}, _noop_receive, _noop_send)
    await fast({"type": "websocket", "path": "/ws/other"}, _noop_receive, _noop_send)
    await fast({"type": "lifespan"}, _noop_receive, _noop_send)
    assert len(endpoint_saw) == 1 and endpoint_saw[0].scope is ws_scope
    assert app.seen[1:] == [("http", "/ws"), ("websocket", "/ws/other"), ("lifespan", "")]
