"""Reconnection under real network faults: Chromium A and B in their own network namespaces,
routed through a router namespace that runs the server; links are cut, addresses changed.

Assertions are on decoded remote frames (stamped in the page with ``Date.now()``, the same
clock as the host's), so "recovered" means video really plays again in both directions.
Each test prints its measured recovery time: link up (or address change) → first new frame.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from peercall.testing.netcall import SUSTAIN_FRAMES, NetCall, call_in_netns, max_gap, now_ms, wait_participants
from peercall.testing.netns import Topology

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


# What each side's connections report (diagnostics when media does not come back).
RTP_STATS_JS = """
async () => {
  const report = window.peercallCall && await window.peercallCall.getStats();
  const row = {};
  report?.forEach((r) => {
    if (r.type === 'inbound-rtp' || r.type === 'outbound-rtp') {
      row[`${r.type}-${r.kind}`] = {
        packets: r.packetsReceived ?? r.packetsSent, frames: r.framesDecoded ?? r.framesEncoded,
        keyframes: r.keyFramesDecoded ?? r.keyFramesEncoded, pli: r.pliCount, firs: r.firCount,
      };
    }
    if (r.type === 'candidate-pair' && r.nominated) {
      row[`pair-${r.id}`] = {state: r.state, sent: r.bytesSent, recv: r.bytesReceived};
    }
  });
  return row;
}
"""


async def frame_summary(call: NetCall, label: str, after_ms: float) -> dict[str, float]:
    """How the side's presented frames looked around ``after_ms``: a missing gap shows here."""
    stamps = await call[label].frames_between(after_ms - 2_000)
    after = [t for t in stamps if t > after_ms]
    return {
        "before": len(stamps) - len(after),
        "after": len(after),
        "first_after_ms": round(after[0] - after_ms) if after else -1,
        "longest_gap_ms": round(max_gap(stamps, after_ms - 2_000, now_ms())),
    }


async def recover_both(
    call: NetCall, after_ms: float, timeout_s: float, *, may_be_uninterrupted: bool = False
) -> dict[str, float]:
    """Wait for media to flow again on both sides; ms from ``after_ms``, or fail with the timelines."""
    labels = list(call.sides)
    found = await asyncio.gather(
        *(call[label].wait_recovery(after_ms, timeout_s, may_be_uninterrupted=may_be_uninterrupted) for label in labels)
    )
    result = dict(zip(labels, found, strict=True))
    if any(ms is None for ms in found):
        rtp = {label: await call[label].page.evaluate(RTP_STATS_JS) for label in labels}
        frames = {label: await frame_summary(call, label, after_ms) for label in labels}
        raise AssertionError(
            f"no decoded frames within {timeout_s} s after the network came back: {result}\n"
            f"frames: {frames}\nrtp: {rtp}\n{await call.timelines(after_ms - 30_000)}"
        )
    return {label: float(ms or 0) for label, ms in result.items()}


async def assert_frames_stopped(call: NetCall, down_ms: float, up_ms: float) -> None:
    """The fault was real: no video played during the outage (once the jitter buffer drained).

    A stray frame callback or two can fire when the SDK swaps in a new connection's stream.
    """
    for side in call.sides.values():
        during = await side.frames_between(down_ms + 1000, up_ms)
        assert len(during) < SUSTAIN_FRAMES, f"{side.label}: {len(during)} frames arrived while the link was down"


async def wait_status(call: NetCall, predicate_js: str, timeout_s: float) -> None:
    """Wait until the status line of every side satisfies ``predicate_js`` (``(text) => bool``)."""
    for side in call.sides.values():
        await side.page.wait_for_function(
            f"() => ({predicate_js})(document.querySelector('[data-testid=status]').textContent)",
            timeout=timeout_s * 1000,
        )


CONNECTED = "(t) => /connected/i.test(t) && !/reconnecting|unstable|lost|connecting…/i.test(t)"


async def cut_link(topo: Topology, call: NetCall, outage_s: float, timeout_s: float) -> dict[str, float]:
    await asyncio.sleep(1.0)  # a steady call first
    down = topo.link_down("a")
    await asyncio.sleep(outage_s)
    up = topo.link_up("a")
    recovered = await recover_both(call, up, timeout_s)
    print(
        f"\nreconnect link down {outage_s:.0f} s: link-up → first new decoded frame "
        + ", ".join(f"{label.upper()} {ms:.0f} ms" for label, ms in recovered.items())
    )
    print(await call.timelines(down - 500))
    await assert_frames_stopped(call, down, up)
    return recovered


# Once flaky in CI: media came back at both sides but A's status stayed "Reconnecting…":
# an ICE-restart offer written into a dead signaling socket was lost, and perfect
# negotiation waited for its answer forever. Offers are now sent again
# (test_reconnect_lost_offer.py drives that deterministically).
async def test_reconnect_after_link_down_5s(topo: Topology, tmp_path: Path) -> None:
    server = topo.start_server(tmp_path)
    async with call_in_netns(topo, server) as call:
        await cut_link(topo, call, outage_s=5, timeout_s=20)
        await wait_status(call, CONNECTED, timeout_s=10)
        assert await wait_participants(server, call.room, 2, timeout_s=10) == ["user-a", "user-b"]
        # Video keeps playing after the recovery, not just a burst of frames.
        await asyncio.gather(*(side.wait_frames(20, timeout_s=5) for side in call.sides.values()))


async def test_reconnect_after_link_down_20s_ice_failed(topo: Topology, tmp_path: Path) -> None:
    """20 s crosses ICE `failed` (~15 s), which Chromium never leaves by itself: needs an ICE restart."""
    server = topo.start_server(tmp_path)
    async with call_in_netns(topo, server) as call:
        start = now_ms()
        await cut_link(topo, call, outage_s=20, timeout_s=30)
        for side in call.sides.values():  # the UI told both people what is going on
            shown = [s["text"] for s in await side.status_log() if s["t"] >= start]
            assert any("reconnecting" in text.lower() for text in shown), f"{side.label}: {shown}"
        await wait_status(call, CONNECTED, timeout_s=10)
        assert await wait_participants(server, call.room, 2, timeout_s=10) == ["user-a", "user-b"]
        await asyncio.gather(*(side.wait_frames(20, timeout_s=5) for side in call.sides.values()))


async def test_reconnect_after_address_change(topo: Topology, tmp_path: Path) -> None:
    """Wi-Fi → 4G: A's link goes away and A comes back on a new subnet with a new address.

    A's video at B may never pause: A's new interface is up at once and A switches paths
    faster than B's jitter buffer drains (about half the runs). That is the best outcome,
    counted as recovered at 0 ms, not as "no frame after a gap" (which failed this test
    before: B's counters matched A's and B decoded every frame).
    """
    server = topo.start_server(tmp_path)
    async with call_in_netns(topo, server) as call:
        await asyncio.sleep(1.0)
        old_address = topo.host("a").address
        moved = topo.move_to_new_subnet("a")
        assert topo.host("a").address != old_address
        recovered = await recover_both(call, moved, timeout_s=30, may_be_uninterrupted=True)
        print(
            f"\nreconnect address change {old_address} → {topo.host('a').address}: change → first new decoded frame "
            + ", ".join(f"{label.upper()} {ms:.0f} ms" for label, ms in recovered.items())
        )
        print(await call.timelines(moved - 500))
        await wait_status(call, CONNECTED, timeout_s=10)
        assert await wait_participants(server, call.room, 2, timeout_s=10) == ["user-a", "user-b"]
        await asyncio.gather(*(side.wait_frames(20, timeout_s=5) for side in call.sides.values()))
