"""`/ws` on our own asyncio protocol (peercall.signaling.ws_protocol), driven through a
real uvicorn server on a free loopback port, in this process, by real `websockets` clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode

from peercall.api.app import create_app
from peercall.config import Settings
from peercall.hub.base import HubUnavailable
from peercall.rooms import resume as resume_module
from peercall.server.run import uvicorn_config
from peercall.signaling.websocket import SignalingEndpoint
from peercall.signaling.ws_frames import text_frame as _text_frame
from peercall.signaling.ws_protocol import SignalingProtocol
from peercall.testing.server import free_port

API_KEY = "test-api-key-0123456789"


@dataclass
class Node:
    app: FastAPI
    server: uvicorn.Server
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/ws"

    @property
    def endpoint(self) -> SignalingEndpoint:
        endpoint: SignalingEndpoint = self.app.state.services.signaling
        return endpoint

    async def tokens(self, *identities: str) -> list[str]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers) as api:
            room = (await api.post("/api/rooms")).json()["id"]
            return [
                (await api.post(f"/api/rooms/{room}/tokens", json={"identity": who})).json()["token"]
                for who in identities
            ]

    def connections(self) -> list[str]:
        return sorted(type(c).__name__ for c in self.server.server_state.connections)


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, ws: Callable[[FastAPI], Any] | None = None, **settings: Any) -> AsyncIterator[Node]:
    port = free_port()
    config = Settings(  # type: ignore[call-arg]
        api_key=API_KEY, data_dir=tmp_path, host="127.0.0.1", port=port, log_level="warning", **settings
    )
    app = create_app(config)
    uv = uvicorn_config(config, app)
    if ws is not None:
        uv.ws = ws(app)
    server = uvicorn.Server(uv)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
        yield Node(app, server, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def join(node: Node, token: str, **connect: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await websockets.connect(node.ws_url, **connect)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return ws, await recv(ws)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 5)))


async def joined_pair(node: Node) -> tuple[ClientConnection, dict[str, Any], ClientConnection, dict[str, Any]]:
    """A and B joined in one room, A having heard `peer-joined`."""
    token_a, token_b = await node.tokens("a", "b")
    a, joined_a = await join(node, token_a)
    b, joined_b = await join(node, token_b)
    assert (await recv(a))["type"] == "peer-joined"
    return a, joined_a, b, joined_b


async def closed_with(ws: ClientConnection, code: int, error: str | None = None) -> None:
    """The next frames: (the error frame, then) the close frame with ``code``."""
    if error is not None:
        frame = await recv(ws)
        assert frame["type"] == "error" and frame["code"] == error and frame["fatal"], frame
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == code, info.value


async def test_scale_ws_protocol_join_relay_and_errors(tmp_path: Path) -> None:
    async with serving(tmp_path, max_message_bytes=2048) as node:
        token_a, token_b = await node.tokens("a", "b")
        a, joined_a = await join(node, token_a)
        b, joined_b = await join(node, token_b)
        assert joined_a["type"] == joined_b["type"] == "joined"
        assert node.connections() == ["SignalingProtocol", "SignalingProtocol"]
        assert (await recv(a))["type"] == "peer-joined"
        to_b = joined_b["peer_id"]
        for n in range(3):  # in order, straight to the partner
            await a.send(json.dumps({"type": "offer", "to": to_b, "sdp": f"v=0 {n}"}))
        assert [(await recv(b))["sdp"] for _ in range(3)] == ["v=0 0", "v=0 1", "v=0 2"]
        await b.send(b"\x00binary")  # not part of the protocol: an error, the socket stays
        frame = await recv(b)
        assert frame["code"] == "bad_message" and not frame["fatal"]
        await b.send(json.dumps({"type": "ping", "ts": 7}))
        assert await recv(b) == {"type": "pong", "ts": 7}
        await b.send(json.dumps({"type": "offer", "to": joined_a["peer_id"], "sdp": "x" * 3000}))
        await closed_with(b, 4009, "message_too_large")
        assert (await recv(a))["type"] == "peer-left"  # B failed: it left for good
        await a.send(json.dumps({"type": "leave"}))
        await closed_with(a, 1000)
        for _ in range(100):
            if not node.endpoint.sessions and not node.connections():
                break
            await asyncio.sleep(0.02)
        assert not node.endpoint.sessions and node.endpoint.admission.total == 0


async def test_scale_ws_protocol_origin_join_timeout_and_drain(tmp_path: Path) -> None:
    async with serving(tmp_path, join_timeout_s=0.5, idle_timeout_s=0.8) as node:
        foreign = await websockets.connect(node.ws_url, origin="https://evil.example")  # type: ignore[arg-type]
        await closed_with(foreign, 4403, "origin_forbidden")
        same = await websockets.connect(node.ws_url, origin=node.base_url)  # type: ignore[arg-type]
        await closed_with(same, 4008, "join_timeout")  # same origin: admitted, then silent
        (token,) = await node.tokens("a")
        a, _ = await join(node, token)
        await asyncio.sleep(0.5)
        await a.send(json.dumps({"type": "ping", "ts": 1}))  # frames keep it alive past the idle timeout
        assert (await recv(a))["type"] == "pong"
        await closed_with(a, 4008, "idle_timeout")
        (token,) = await node.tokens("b")
        b, _ = await join(node, token)
        node.endpoint.drain(1.0)
        assert (await recv(b))["type"] == "drain"  # joined: told to move
        late = await websockets.connect(node.ws_url)
        await closed_with(late, 4015, "draining")  # new: refused, retryable
        await b.close()


async def test_scale_ws_protocol_penalized_address_is_refused_at_handshake(tmp_path: Path) -> None:
    async with serving(tmp_path) as node:
        for _ in range(3):
            node.endpoint.admission.penalize("127.0.0.1")
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(node.ws_url)
        assert info.value.response.status_code == 403


async def test_scale_ws_protocol_slow_consumer_is_closed_and_memory_stays_bounded(tmp_path: Path) -> None:
    limits = {"send_queue_max": 8, "rate_limit_per_s": 10_000.0, "rate_limit_burst": 10_000}
    async with serving(tmp_path, **limits) as node:
        token_a, token_b = await node.tokens("a", "b")
        # A reads nothing from now on: a small receive buffer, one message queued at most.
        sock = socket.create_connection(("127.0.0.1", int(node.base_url.rsplit(":", 1)[1])))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        a, joined_a = await join(node, token_a, sock=sock, max_queue=1, max_size=2**20)
        b, _ = await join(node, token_b)
        assert (await recv(a))["type"] == "peer-joined"
        sdp = "x" * 40_000
        sent = 400  # 16 MB to a client that does not read
        for n in range(sent):
            await b.send(json.dumps({"type": "offer", "to": joined_a["peer_id"], "sdp": f"{n} {sdp}"}))
        await b.send(json.dumps({"type": "ping", "ts": 1}))
        seen = [(await recv(b))["type"] for _ in range(2)]  # B's frames were all handled
        assert seen == ["peer-reconnecting", "pong"]  # A's socket was dropped: it may resume
        # What the server holds for A: the transport's buffer, at most the frames taken while
        # it was over its high-water mark (64 KiB), send_queue_max; the rest was not written.
        buffered = max(c._transport.get_write_buffer_size() for c in node.server.server_state.connections)  # type: ignore[union-attr]
        assert buffered < 64 * 1024 + 9 * len(sdp) * 1.1, buffered
        received = 0
        with pytest.raises(ConnectionClosed) as info:
            while True:
                frame = json.loads(await asyncio.wait_for(a.recv(), 5))
                received += frame["type"] == "offer"
        assert info.value.rcvd is not None and info.value.rcvd.code == 4013
        assert received < sent / 2
        await b.close()


async def test_scale_ws_protocol_other_paths_go_to_the_asgi_app(tmp_path: Path) -> None:
    async with serving(tmp_path) as node:
        with pytest.raises(InvalidStatus) as info:  # no such WebSocket route in the app
            await websockets.connect(node.ws_url + "/other")
        assert info.value.response.status_code == 403
        (token,) = await node.tokens("a")
        a, joined = await join(node, token, additional_headers={"X-Probe": "1"})
        assert joined["type"] == "joined" and node.connections() == ["SignalingProtocol"]
        await a.close()

    # /ws before the services are up (here: never) is the app's ASGI route, which still works.
    def asgi_only(app: FastAPI) -> type[SignalingProtocol]:
        return SignalingProtocol.serving(lambda: None, "/ws")

    async with serving(tmp_path, ws=asgi_only) as node:
        token_a, token_b = await node.tokens("a", "b")
        a, _ = await join(node, token_a)
        b, joined_b = await join(node, token_b)
        assert node.connections() == ["WebSocketsSansIOProtocol", "WebSocketsSansIOProtocol"]
        assert (await recv(a))["type"] == "peer-joined"
        await a.send(json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": "v=0"}))
        assert (await recv(b))["sdp"] == "v=0"
        await a.close()
        await b.close()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_scale_ws_protocol_text_frame_header_matches_the_library(size: int) -> None:
    """Our hand-written data frames are byte for byte what websockets would send."""
    payload = b"x" * size
    assert _text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)


async def test_scale_ws_protocol_hub_outage_suspends_the_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub that does not answer (Redis down, pool exhausted) is a lost socket, not a bug:
    the sender gets `hub_unavailable` (4017), its partner sees no `peer-left`, and the
    sender resumes on a new socket and relays again."""
    async with serving(tmp_path) as node:
        a, joined_a, b, joined_b = await joined_pair(node)
        hub = node.app.state.services.hub
        real_send, real_send_now = hub.send, hub.send_now

        async def unavailable(*args: Any, **kwargs: Any) -> bool:
            raise HubUnavailable("redis: no connection available")

        monkeypatch.setattr(hub, "send", unavailable)
        monkeypatch.setattr(hub, "send_now", lambda *args: None)  # as a Redis hub: relays wait for it
        await a.send(json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": "v=0 lost"}))
        await closed_with(a, 4017, "hub_unavailable")
        monkeypatch.setattr(hub, "send", real_send)
        monkeypatch.setattr(hub, "send_now", real_send_now)
        resumed = await websockets.connect(node.ws_url)
        resume = {"type": "resume", "v": 1, "resume_token": joined_a["resume_token"], "last_seq": 1, "attempt": 1}
        await resumed.send(json.dumps(resume))
        frame = await recv(resumed)
        assert frame["type"] == "resumed" and frame["peer_id"] == joined_a["peer_id"], frame
        await resumed.send(json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": "v=0 again"}))
        heard = [await recv(b) for _ in range(3)]
        assert [frame["type"] for frame in heard] == ["peer-reconnecting", "peer-resumed", "offer"], heard
        assert heard[2]["sdp"] == "v=0 again" and heard[2]["from"] == joined_a["peer_id"]
        await resumed.close()
        await b.close()


async def test_scale_ws_protocol_leave_during_a_hub_outage_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `leave` the hub could not take is not an error for the leaving client (its socket
    closes normally): the leave is carried out once the hub answers, so the partner sees
    `peer-left` instead of a member stuck attached to a closed socket."""
    monkeypatch.setattr(resume_module, "RETRY_FIRST_S", 0.05)
    async with serving(tmp_path) as node:
        a, joined_a, b, _ = await joined_pair(node)
        hub = node.app.state.services.hub
        real_leave, failures = hub.leave, [1, 1]

        async def flaky(*args: Any, **kwargs: Any) -> Any:
            if failures:
                failures.pop()
                raise HubUnavailable("redis: connection refused")
            return await real_leave(*args, **kwargs)

        monkeypatch.setattr(hub, "leave", flaky)
        await a.send(json.dumps({"type": "leave"}))
        await closed_with(a, 1000)
        frame = await recv(b)
        assert frame == {**frame, "type": "peer-left", "peer_id": joined_a["peer_id"]}, frame
        assert not failures
        await b.close()
