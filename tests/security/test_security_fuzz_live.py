"""Fuzzing a live server over real WebSockets: hypothesis-generated frames, invalid UTF-8,
huge and deeply nested JSON. The server process survives, logs no traceback, leaks no
other room's data, and a concurrent call keeps relaying."""

from __future__ import annotations

import asyncio
import itertools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from peercall.testing import ServerProcess

CASES = 120
_sources = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 5), range(2, 250)))

frame_text = st.one_of(
    st.text(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=15,
    ).map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["join", "resume", "offer", "answer", "ice-candidate", "moderate", "leave", "ping"])},
        optional={
            "v": st.integers(-2, 3),
            "to": st.text(max_size=70),
            "sdp": st.text(max_size=100),
            "token": st.text(max_size=100),
            "resume_token": st.text(max_size=300),
            "action": st.text(max_size=20),
            "candidate": st.none() | st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
        },
    ).map(json.dumps),
)


async def ask(ws: ClientConnection, text: str | bytes, ts: int) -> list[dict]:
    """Send one frame, then a ping; everything the server says until the pong (or close)."""
    replies: list[dict] = []
    await ws.send(text)
    await ws.send(json.dumps({"type": "ping", "ts": ts}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame == {"type": "pong", "ts": ts}:
            return replies
        replies.append(frame)


async def test_security_fuzz_live_server(shared_server: ServerProcess):
    server = shared_server
    room = server.create_room()
    alice = await connect(server.ws_url)
    await alice.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "alice", "host")["token"]}))
    joined_a = json.loads(await alice.recv())
    bob = await connect(server.ws_url)
    await bob.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "bob")["token"]}))
    joined_b = json.loads(await bob.recv())
    secrets = [room, joined_a["peer_id"], joined_b["peer_id"], joined_a["resume_token"], "v=0 secret"]
    other_room = server.create_room()
    stats = {"cases": 0, "reconnects": 0, "closed": 0}
    loop = asyncio.get_running_loop()
    state: dict[str, ClientConnection] = {}

    async def fresh() -> ClientConnection:
        stats["reconnects"] += 1
        ws = await connect(server.ws_url, local_addr=(next(_sources), 0))
        eve_token = server_token_cache["eve"]
        await ws.send(json.dumps({"type": "join", "v": 1, "token": eve_token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "joined"
        return ws

    server_token_cache = {"eve": await asyncio.to_thread(lambda: server.token(other_room, "eve", "host")["token"])}

    async def one(text: str) -> None:
        ws = state.get("eve") or await fresh()
        state["eve"] = ws
        stats["cases"] += 1
        await asyncio.sleep(0.05)  # two frames per case: stay under 50 frames/s (the flood test covers more)
        try:
            replies = await ask(ws, text, stats["cases"])
        except ConnectionClosed:
            stats["closed"] += 1
            state.pop("eve", None)
            return
        seen = json.dumps(replies)
        assert not [s for s in secrets if s in seen and s not in text], replies

    @settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=frame_text)
    def case(text: str) -> None:
        asyncio.run_coroutine_threadsafe(one(text), loop).result(30)

    await asyncio.to_thread(case)

    # Hand-made hostile frames, each on a fresh socket.
    hostile: list[tuple[str | bytes, bool]] = [
        (b'{"type":"ping","ts":1}\xff\xfe', True),  # invalid UTF-8 in a text frame
        ("[" * 30_000 + "]" * 30_000, False),  # deep JSON within the size cap
        ('{"a":' * 10_000 + "1" + "}" * 10_000, False),
        (json.dumps({"type": "offer", "to": "p_x", "sdp": "a" * 200_000}), True),  # over the 64 KiB cap
        ("x" * 2_000_000, True),  # over the transport's frame limit
    ]
    outcomes = []
    for text, fatal in hostile:
        ws = await fresh()
        try:
            if isinstance(text, bytes):
                await ws.send(text, text=True)
                await asyncio.wait_for(ws.recv(), 5)
                outcomes.append("open")
            else:
                outcomes.append(",".join(f["code"] for f in await ask(ws, text, 0)) or "ok")
        except ConnectionClosed as closed:
            outcomes.append(f"closed {closed.rcvd.code if closed.rcvd else closed.sent.code if closed.sent else '?'}")
        assert outcomes[-1].startswith("closed") == fatal, (text[:40], outcomes[-1])
        await ws.close()
    assert outcomes[1:3] == ["bad_json", "bad_json"], outcomes

    # The victim call still relays; the server process is alive and logged no traceback.
    await bob.send(json.dumps({"type": "offer", "to": joined_a["peer_id"], "sdp": "v=0 secret"}))
    for _ in range(5):
        frame = json.loads(await asyncio.wait_for(alice.recv(), 5))
        if frame.get("sdp") == "v=0 secret":
            break
    assert frame["sdp"] == "v=0 secret"
    assert server.process.poll() is None
    # uvicorn logs its own (handled) rejection of invalid UTF-8 with a traceback; any other
    # traceback would be ours.
    log = server.log().replace("ERROR:    Invalid UTF-8 sequence received from client.\nTraceback", "")
    assert "Traceback" not in log and "internal server error" not in log, log[log.find("Traceback") :][:3000]
    print(
        f"\nsecurity live fuzz: {stats['cases']} generated frames, {stats['closed']} fatal closes, "
        f"{stats['reconnects']} sockets; hostile frames: {outcomes}"
    )
    await alice.close()
    await bob.close()
