"""Reconnection when the signaling side fails: the server process is SIGKILLed and restarted
mid-call, and a peer whose network stays down longer than the resume grace period.

Same real topology as test_reconnect_network.py (Chromium A and B in their own network
namespaces, the server in the router namespace between them).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from peercall.testing.netcall import (
    LOCAL_UFRAG_JS,
    CallSide,
    api_get,
    call_in_netns,
    max_gap,
    now_ms,
    wait_participants,
)
from peercall.testing.netns import Topology
from peercall.testing.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


async def wait_event(side: CallSide, name: str, since_ms: float, timeout_s: float) -> dict:
    """The first SDK event ``name`` emitted after ``since_ms`` (bounded wait)."""
    deadline = time.monotonic() + timeout_s
    while True:
        for event in await side.events():
            if event["name"] == name and event["t"] >= since_ms:
                return event
        if time.monotonic() > deadline:
            timeline = await side.timeline(since_ms)
            raise AssertionError(f"{side.label}: no '{name}' event within {timeout_s} s\n{timeline}")
        await asyncio.sleep(0.1)


async def print_reconnect_timeline(server: ServerProcess, room: str) -> None:
    """The call's reconnect records over REST (diagnostics: cause, steps, time to recover)."""
    calls = (await api_get(server, f"/api/rooms/{room}/calls")).json().get("calls", [])
    if calls:
        response = await api_get(server, f"/api/rooms/{room}/calls/{calls[0]['id']}/reconnects")
        print(f"reconnect records (HTTP {response.status_code}): {response.text[:2000]}")


async def test_reconnect_signaling_after_server_killed(topo: Topology, tmp_path: Path) -> None:
    """SIGKILL the server mid-call, restart it on the same port and data: media never stops
    (it is peer to peer), then signaling resumes and really relays again (an ICE restart works)."""
    server = topo.start_server(tmp_path)
    async with call_in_netns(topo, server) as call:
        await asyncio.sleep(1.0)
        killed = now_ms()
        topo.kill_server(server)
        await asyncio.sleep(3.0)
        restarted_server = topo.start_server(tmp_path)  # same port, same data dir (rooms, token secret)
        restarted = now_ms()
        print(f"\nreconnect server: killed, restarted after {(restarted - killed) / 1000:.1f} s")

        # Signaling resumes: both SDKs are back and the server sees both participants again.
        for side in call.sides.values():
            event = await wait_event(side, "reconnected", killed, timeout_s=20)
            back_ms = event["t"] - restarted
            print(f"reconnect server: {side.label.upper()} signaling back {back_ms:.0f} ms after the restart")
        assert await wait_participants(restarted_server, call.room, 2, timeout_s=20) == ["user-a", "user-b"]

        # The relay works: an ICE restart negotiated through the new server process succeeds.
        side_a = call["a"]
        ufrag = await side_a.page.evaluate(LOCAL_UFRAG_JS)
        await side_a.page.evaluate("() => window.peercallCall.restartIce()")
        await side_a.page.wait_for_function(f"async () => ({LOCAL_UFRAG_JS})() !== {json.dumps(ufrag)}", timeout=10_000)

        await asyncio.sleep(2.0)
        end = now_ms()
        print(await call.timelines(killed - 500))
        for side in call.sides.values():
            frames = await side.frames_between(killed - 1000, end)
            during_outage = [t for t in frames if killed < t < restarted]
            gap = max_gap(frames, killed, end)
            print(f"reconnect server: {side.label.upper()} {len(during_outage)} frames while the server was down, "
                  f"longest pause {gap:.0f} ms")  # fmt: skip
            assert len(during_outage) >= 20, f"{side.label}: media stopped while the server was down"
            assert gap < 1000, f"{side.label}: media paused {gap:.0f} ms around the server restart"
        for side in call.sides.values():
            status = await side.status()
            assert "reconnecting" not in status.lower() and "[ended]" not in status, f"{side.label}: {status}"
        await print_reconnect_timeline(restarted_server, call.room)

        # The restarted server forgot the sessions, so each SDK rejoined and reported the
        # episode itself: the call's timeline holds both, spanning the time the server was away.
        calls = (await api_get(restarted_server, f"/api/rooms/{call.room}/calls")).json()["calls"]
        records = []
        for record in calls:
            response = await api_get(restarted_server, f"/api/rooms/{call.room}/calls/{record['id']}/reconnects")
            records += response.json()["reconnects"]
        rejoins = {r["identity"]: r for r in records if r["kind"] == "signaling" and r["outcome"] == "rejoined"}
        assert sorted(rejoins) == ["user-a", "user-b"], records
        for identity, record in rejoins.items():
            assert record["duration_ms"] >= 2500, (identity, record)  # the server was gone ~3 s


async def test_reconnect_gives_up_after_grace_period(topo: Topology, tmp_path: Path) -> None:
    """A's network stays down past the resume grace period: both sides end the call, saying why.

    Grace 5 s. The server only learns that a silently vanished client is gone when its
    socket idles out, so the idle timeout is set to 8 s (the SDK pings every 5 s): A is
    suspended at most 8 s after the cut and expires 5 s later; the cut lasts 16 s.
    """
    env = {"PEERCALL_RESUME_GRACE_S": "5", "PEERCALL_IDLE_TIMEOUT_S": "8"}
    server = topo.start_server(tmp_path, extra_env=env)
    async with call_in_netns(topo, server) as call:
        await asyncio.sleep(1.0)
        down = topo.link_down("a")
        # B learns that A timed out and ends its side of the call while A is still offline.
        left = await wait_event(call["b"], "peerLeft", down, timeout_s=20)
        print(f"\nreconnect grace: B got peerLeft {left} {(left['t'] - down) / 1000:.1f} s after the cut")
        assert left.get("reason") == "timeout", f"{left}\n{await call.timelines(down - 500)}"
        await asyncio.sleep(max(0.0, 16 - (now_ms() - down) / 1000))
        up = topo.link_up("a")
        for side in call.sides.values():
            await side.page.get_by_test_id("ended-screen").wait_for(state="visible", timeout=20_000)
            detail = await side.page.get_by_test_id("ended-detail").text_content() or ""
            print(f"reconnect grace: {side.label.upper()} ended screen: {detail!r}")
            assert len(detail.strip()) > 10, f"{side.label}: the ended screen gives no reason"
        event_a = await wait_event(call["a"], "ended", down, timeout_s=1)
        print(f"reconnect grace: A ended {(event_a['t'] - up) / 1000:.1f} s after link-up: {event_a}")
        assert event_a.get("reason") == "timeout", event_a
        print(await call.timelines(down - 500))

        deadline = time.monotonic() + 10
        while True:
            calls = (await api_get(server, f"/api/rooms/{call.room}/calls")).json()["calls"]
            if (calls and calls[0]["ended_at"]) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        record = calls[0]
        print(f"reconnect grace: call record {json.dumps(record)}")
        reasons = {p["identity"]: p["left_reason"] for p in record["participants"]}
        assert reasons.get("user-a") == "timeout", reasons
        assert record["ended_at"] is not None and record["end_reason"], record
        await print_reconnect_timeline(server, call.room)
