"""Python peers survive signaling drops, a server restart and failed connections (issue 5).

Real `peercall serve` processes; faults are real too: a WebSocket dropped without a closing
handshake (as a network failure does), the server SIGKILLed and restarted on the same port
and data dir, an ICE agent whose consent expires. Media is peer to peer, so the frame
counters must keep growing while signaling is away.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from peercall.peer import NO_RECONNECT, BackoffPolicy, Peer, PeerEvent, ReceiveStats, SignalingError
from peercall.testing import API_KEY, ROOT, ServerProcess, start_server, stop_server

EVENTS = [
    PeerEvent.RECONNECTING,
    PeerEvent.RECONNECTED,
    PeerEvent.PEER_RECONNECTING,
    PeerEvent.PEER_RECONNECTED,
    PeerEvent.PEER_LEFT,
    PeerEvent.PEER_JOINED,
    PeerEvent.MEDIA_RECOVERING,
    PeerEvent.MEDIA_RECOVERED,
    PeerEvent.CLOSED,
]
# "Media never stopped": the connections are never replaced (generation stays 1) and the
# received-frame counters never stand still this long (30 fps; the bound only absorbs CPU
# starvation on a loaded 2-core machine, a new connection costs more than that).
MAX_STALL_S = 1.5
# The drop lasts a moment, as a real one does: the server notices it before we are back.
BRIEF_DROP = BackoffPolicy(delays=(0.5, 0.25, 0.5, 1.0), jitter=0.0)


class Events:
    """Every reconnection event a Peer emits, with its arguments, in order."""

    def __init__(self, peer: Peer) -> None:
        self.log: list[tuple[float, str, tuple[Any, ...]]] = []
        for name in EVENTS:
            peer.on(name, lambda *args, name=name: self.log.append((time.monotonic(), str(name), args)))

    def names(self) -> list[str]:
        return [name for _, name, _ in self.log]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [args for _, n, args in self.log if n == name]

    async def wait(self, name: str, timeout: float, count: int = 1) -> tuple[Any, ...]:
        async with asyncio.timeout(timeout):
            while len(self.args(name)) < count:
                await asyncio.sleep(0.02)
        return self.args(name)[count - 1]


class Flow:
    """Samples received-frame counters; the longest time any of them stood still is a stall."""

    def __init__(self, **streams: ReceiveStats) -> None:
        self._streams = streams
        self._task: asyncio.Task[None] | None = None
        self.stall: dict[str, float] = dict.fromkeys(streams, 0.0)
        self.stall_at: dict[str, float] = dict.fromkeys(streams, 0.0)  # time.monotonic() at its end
        self.frames: dict[str, int] = dict.fromkeys(streams, 0)

    async def __aenter__(self) -> Flow:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _sample(self) -> None:
        start = {name: s.video_frames for name, s in self._streams.items()}
        last = dict(start)
        changed = dict.fromkeys(self._streams, time.monotonic())
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            for name, stats in self._streams.items():
                if stats.video_frames != last[name]:
                    last[name], changed[name] = stats.video_frames, now
                if now - changed[name] > self.stall[name]:
                    self.stall[name], self.stall_at[name] = now - changed[name], now
                self.frames[name] = stats.video_frames - start[name]


async def call(server: ServerProcess, room: str, **bob_options: Any) -> tuple[Peer, Peer]:
    """alice (polite, first) and bob (the newcomer), connected, media flowing both ways."""
    alice = await Peer.join(server.base_url, server.token(room, "alice", "host")["token"])
    bob = await Peer.join(server.base_url, server.token(room, "bob")["token"], **bob_options)
    await alice.wait_frames(video=10, timeout=20, peer_id=bob.peer_id)
    await bob.wait_frames(video=10, timeout=20, peer_id=alice.peer_id)
    return alice, bob


def api_get(server: ServerProcess, path: str) -> Any:
    with server.api() as api:
        response = api.get(path)
        response.raise_for_status()
        return response.json()


def reconnects(server: ServerProcess, room: str, call_id: str) -> list[dict[str, Any]]:
    return list(api_get(server, f"/api/rooms/{room}/calls/{call_id}/reconnects")["reconnects"])


async def until(probe: Callable[[], Any], timeout: float) -> Any:
    """Poll a blocking probe (in a thread, so media keeps flowing) until it is truthy."""
    async with asyncio.timeout(timeout):
        while not (result := await asyncio.to_thread(probe)):
            await asyncio.sleep(0.2)
    return result


def restart_on_same_port(old: ServerProcess) -> ServerProcess:
    """`peercall serve` again on the port and data dir of a killed server (blocking)."""
    port = urlsplit(old.base_url).port
    env = {
        **os.environ,
        "PEERCALL_API_KEY": API_KEY,
        "PEERCALL_DATA_DIR": str(old.data_dir),
        "PEERCALL_LOG_LEVEL": "info",
    }
    log_path = old.log_path.with_name("server-restarted.log")
    command = [sys.executable, "-m", "peercall.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"restarted server exited:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{old.base_url}/readyz", timeout=1).status_code == 200:
                return ServerProcess(old.base_url, API_KEY, old.data_dir, process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"restarted server not ready:\n{log_path.read_text()}")


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """A server the test may kill and restart; every incarnation is stopped at the end."""
    servers = [start_server(tmp_path)]
    yield servers
    for server in servers:
        if server.process.poll() is None:
            stop_server(server)


async def test_reconnect_python_peer_resumes_after_socket_drop(server: ServerProcess):
    room = server.create_room()
    alice, bob = await call(server, room, reconnect=BRIEF_DROP)
    seen_by_alice, seen_by_bob = Events(alice), Events(bob)
    bob_id, call_id = bob.peer_id, bob.call_id
    try:
        async with Flow(at_alice=alice.stats(bob_id), at_bob=bob.stats(alice.peer_id)) as flow:
            dropped = time.monotonic()
            bob.signaling.abort()  # the network drops the WebSocket: no `leave`, no close frame
            assert await seen_by_alice.wait(PeerEvent.PEER_RECONNECTING, 5) == (bob_id,)
            assert await seen_by_alice.wait(PeerEvent.PEER_RECONNECTED, 10) == (bob_id, bob_id)
            assert await seen_by_bob.wait(PeerEvent.RECONNECTED, 10) == (True,)  # resumed, not rejoined
            back_s = time.monotonic() - dropped
            await asyncio.sleep(1.0)
        print(f"signaling back after {back_s:.2f} s; stalls {flow.stall}; frames {flow.frames}")
        assert seen_by_bob.names() == [PeerEvent.RECONNECTING, PeerEvent.RECONNECTED]
        assert seen_by_alice.names() == [PeerEvent.PEER_RECONNECTING, PeerEvent.PEER_RECONNECTED]
        assert bob.peer_id == bob_id and bob.signaling_state == "connected"
        assert max(flow.stall.values()) < MAX_STALL_S, flow.stall  # media never stopped
        assert min(flow.frames.values()) >= 15, flow.frames  # ~1.5 s of video (>= 10 fps even on a busy machine)
        assert alice.remote(bob_id).generation == bob.remote(alice.peer_id).generation == 1  # not renegotiated
        assert call_id is not None
        records = await asyncio.to_thread(reconnects, server, room, call_id)
        [record] = [r for r in records if r["kind"] == "signaling"]
        assert (record["peer_id"], record["identity"], record["outcome"]) == (bob_id, "bob", "resumed")
    finally:
        await bob.leave()
        await alice.leave()


async def test_reconnect_python_peer_gets_frames_sent_while_away(server: ServerProcess):
    """What the server buffered for a dropped member is replayed, once and in order."""
    room = server.create_room()
    alice, bob = await call(server, room, reconnect=BackoffPolicy(delays=(1.5,), jitter=0.0))
    seen_by_bob = Events(bob)
    try:
        bob.signaling.abort()
        await asyncio.sleep(0.3)
        alice.restart(bob.peer_id)  # a reset offer for bob, sent while bob is away
        await seen_by_bob.wait(PeerEvent.RECONNECTED, 10)
        remote = bob.remote(alice.peer_id)
        await bob._wait_for(lambda: (remote.generation == 2 and remote.state == "connected") or None, 15)
        before = remote.stats.video_frames
        await bob.wait_frames(video=before + 30, timeout=15, peer_id=alice.peer_id)
        assert bob.signaling_state == "connected" and bob._link.last_seq >= 1
    finally:
        await bob.leave()
        await alice.leave()


async def test_reconnect_python_peers_notice_a_silent_server_and_resume(server: ServerProcess):
    """A frozen server (SIGSTOP) closes nothing, like a dead network: the peers notice the
    silence themselves (12 s without a frame), and resume once it answers again."""
    room = server.create_room()
    alice, bob = await call(server, room)
    events = {"alice": Events(alice), "bob": Events(bob)}
    ids = (alice.peer_id, bob.peer_id)
    try:
        async with Flow(at_alice=alice.stats(bob.peer_id), at_bob=bob.stats(alice.peer_id)) as flow:
            frozen = time.monotonic()
            server.process.send_signal(signal.SIGSTOP)
            try:
                for name in events:
                    assert await events[name].wait(PeerEvent.RECONNECTING, 20) == ("socket closed (1006)",)
                noticed_s = time.monotonic() - frozen
            finally:
                server.process.send_signal(signal.SIGCONT)
            for name in events:
                assert await events[name].wait(PeerEvent.RECONNECTED, 30) == (True,)  # resumed: same session
            back_s = time.monotonic() - frozen
        at = {name: round(t - frozen, 2) for name, t in flow.stall_at.items()}
        print(
            f"silence noticed after {noticed_s:.1f} s, both resumed after {back_s:.1f} s; stalls {flow.stall} at {at}"
        )
        assert 12 <= noticed_s < 19
        assert (alice.peer_id, bob.peer_id) == ids
        assert max(flow.stall.values()) < MAX_STALL_S, flow.stall  # media never stopped
        assert min(flow.frames.values()) >= 200, flow.frames
        assert alice.remote(bob.peer_id).generation == bob.remote(alice.peer_id).generation == 1
    finally:
        await bob.leave()
        await alice.leave()


async def test_reconnect_python_peers_rejoin_after_server_restart(restartable: list[ServerProcess]):
    server = restartable[0]
    room = server.create_room()
    alice, bob = await call(server, room)
    events = {"alice": Events(alice), "bob": Events(bob)}
    old_ids = (alice.peer_id, bob.peer_id)
    try:
        async with Flow(at_alice=alice.stats(bob.peer_id), at_bob=bob.stats(alice.peer_id)) as flow:
            killed = time.monotonic()
            server.process.kill()  # SIGKILL: no socket is closed politely, nothing is saved
            await asyncio.to_thread(server.process.wait, 10)
            await asyncio.sleep(2.0)  # the outage: signaling is gone, media is peer to peer
            outage_frames = dict(flow.frames)
            assert alice.signaling_state == bob.signaling_state == "reconnecting"
            restarted = await asyncio.to_thread(restart_on_same_port, server)
            restartable.append(restarted)
            up_s = time.monotonic() - killed
            for name in events:
                assert await events[name].wait(PeerEvent.RECONNECTED, 30) == (False,)  # joined again
            await until(lambda: alice.peer_id_of("bob") == bob.peer_id and bob.peer_id_of("alice") == alice.peer_id, 15)
            back_s = time.monotonic() - killed
            await asyncio.sleep(1.0)
        print(f"server up after {up_s:.2f} s, both rejoined after {back_s:.2f} s; stalls {flow.stall}")
        assert min(outage_frames.values()) >= 15, outage_frames  # frames kept flowing while it was down (>= 7 fps)
        assert max(flow.stall.values()) < MAX_STALL_S, flow.stall
        assert alice.peer_id not in old_ids and bob.peer_id not in old_ids
        # The connections were kept and re-keyed to the new ids, not renegotiated.
        assert alice.remote(bob.peer_id).generation == bob.remote(alice.peer_id).generation == 1
        assert {args[0] for args in events["alice"].args(PeerEvent.PEER_RECONNECTED)} == {bob.peer_id}
        assert PeerEvent.PEER_LEFT not in events["alice"].names() + events["bob"].names()

        def both_in_room() -> bool:
            people = api_get(restarted, f"/api/rooms/{room}")["participants"]
            return {(p["identity"], p["peer_id"]) for p in people} == {
                ("alice", alice.peer_id),
                ("bob", bob.peer_id),
            }

        assert await until(both_in_room, 10)
    finally:
        await bob.leave()
        await alice.leave()


async def test_reconnect_grace_expiry_ends_dropped_peer_with_timeout(tmp_path: Path):
    server = start_server(tmp_path, extra_env={"PEERCALL_RESUME_GRACE_S": "1"})
    try:
        room = server.create_room()
        # bob's first attempt comes 3 s after the drop: longer than the 1 s grace period.
        alice, bob = await call(server, room, reconnect=BackoffPolicy(delays=(3.0,), jitter=0.0))
        seen_by_alice, seen_by_bob = Events(alice), Events(bob)
        bob_id, call_id = bob.peer_id, bob.call_id
        try:
            dropped = time.monotonic()
            bob.signaling.abort()
            assert await seen_by_alice.wait(PeerEvent.PEER_RECONNECTING, 5) == (bob_id,)
            assert await seen_by_alice.wait(PeerEvent.PEER_LEFT, 5) == (bob_id, "timeout")
            left_s = time.monotonic() - dropped
            async with asyncio.timeout(10):
                assert await bob.wait_closed() == "timeout"
            ended_s = time.monotonic() - dropped
            print(f"peer-left timeout after {left_s:.2f} s; dropped peer ended after {ended_s:.2f} s")
            assert bob.error_code == "session_expired"
            assert seen_by_bob.names() == [PeerEvent.RECONNECTING, PeerEvent.CLOSED]
            assert 0.9 < left_s < 3.0 and ended_s >= 3.0
            assert alice.peers == {} and alice.signaling_state == "connected"
            assert call_id is not None
            records = await asyncio.to_thread(reconnects, server, room, call_id)
            assert [(r["kind"], r["peer_id"], r["outcome"]) for r in records] == [("signaling", bob_id, "timeout")]
        finally:
            await bob.leave()
            await alice.leave()
    finally:
        stop_server(server)


async def test_reconnect_media_replaces_failed_connection(server: ServerProcess):
    """aiortc has no ICE restart: a failed connection is replaced (reset offer) and reported."""
    room = server.create_room()
    alice, bob = await call(server, room)
    seen_by_alice, seen_by_bob = Events(alice), Events(bob)
    remote = alice.remote(bob.peer_id)
    try:
        # Consent expiry as aioice handles it: the ICE agent closes, the transport goes failed.
        # alice is the polite side: she leaves the lead to bob for the grace period, then acts.
        assert remote.pc is not None
        failed_at = time.monotonic()
        await remote.pc.getTransceivers()[0].receiver.transport.transport._connection.close()
        peer_id, report = await seen_by_alice.wait(PeerEvent.MEDIA_RECOVERED, 30)
        recovered_s = time.monotonic() - failed_at
        before = remote.stats.video_frames
        await alice.wait_frames(video=before + 30, timeout=15, peer_id=bob.peer_id)
        flowing_s = time.monotonic() - failed_at
        print(f"recovered after {recovered_s:.2f} s, 30 new frames after {flowing_s:.2f} s: {report}")
        assert peer_id == bob.peer_id
        assert (report["cause"], report["outcome"]) == ("ice_failed", "recovered")
        assert [(s["step"], s["ok"]) for s in report["steps"]] == [("new_connection", True)]
        assert seen_by_alice.args(PeerEvent.MEDIA_RECOVERING) == [(bob.peer_id, "ice_failed", "new_connection", 1)]
        assert PeerEvent.MEDIA_RECOVERED not in seen_by_bob.names()  # exactly one side drove it
        assert remote.generation == 2 and bob.remote(alice.peer_id).generation == 2
        assert bob.connection_state(alice.peer_id) == "connected"
        assert alice.call_id is not None

        def stored() -> list[dict[str, Any]]:
            return [r for r in reconnects(server, room, str(alice.call_id)) if r["kind"] == "media"]

        [record] = await until(stored, 10)
        assert (record["peer_id"], record["cause"], record["outcome"]) == (alice.peer_id, "ice_failed", "recovered")
        assert record["steps"][0]["towards"] == bob.peer_id
    finally:
        await bob.leave()
        await alice.leave()


def test_reconnect_backoff_policy_is_jittered_and_bounded():
    policy = BackoffPolicy()
    error = SignalingError("lost")
    assert policy.next_delay(1, 0.0, error) == 0.0  # at once
    for attempt, base in [(2, 0.25), (4, 1.0), (6, 3.0), (50, 3.0)]:
        delays = {policy.next_delay(attempt, 10.0, error) for _ in range(50)}
        assert all(d is not None and 0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(delays) > 1  # jittered: clients dropped together do not come back together
    assert policy.next_delay(7, 60.5, error) is None  # gives up after 60 s
    assert NO_RECONNECT.next_delay(1, 0.0, error) is None
