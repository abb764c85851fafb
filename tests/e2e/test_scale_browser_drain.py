"""Chromium on two nodes sharing Redis: a call across nodes, then a drain moves one side.

A loads the call through a balancer that health-checks ``/readyz`` (it lands on node one),
B loads it straight from node two. They decode each other's video through the Redis
backplane. SIGTERM node one: A's SDK is told to move, resumes its session on node two
through the same address (same peer id, no `peerLeft` at B), media never stops (it is
peer to peer), and signaling relays again afterwards (a mute made after the move reaches
the other side). Node one exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis as redis_client
from playwright.async_api import Page

from peercall.testing import ServerProcess
from peercall.testing.balancer import TcpBalancer
from peercall.testing.browser import chromium, wait_decoding
from peercall.testing.cluster import start_nodes
from peercall.testing.redis_server import start_redis
from peercall.testing.server import stop_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

EVENTS_JS = """
() => {
  window.__events = [];
  for (const name of ['reconnecting', 'reconnected', 'peerLeft', 'peerReconnecting', 'peerReconnected', 'peerMedia']) {
    window.peercallCall.on(name, (e) => window.__events.push({
      name, t: Date.now(), resumed: e.resumed, peerId: e.peerId, audio: e.media?.audio,
    }));
  }
}
"""


async def open_call(browser, url: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 800, "height": 500})).new_page()
    await page.goto(url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall?.self?.peerId", timeout=30_000)
    return page


async def frames_decoded(page: Page) -> int:
    return int((await wait_decoding(page, min_frames=1))["framesDecoded"])


async def sample_frames(page: Page, into: list[tuple[float, int]], stop: asyncio.Event) -> None:
    """Record (time, framesDecoded) until ``stop``: a stall shows as a long flat stretch."""
    while not stop.is_set():
        into.append((time.monotonic(), await frames_decoded(page)))
        await asyncio.sleep(0.25)


def longest_stall_s(samples: list[tuple[float, int]]) -> float:
    """Longest time the decoded-frame counter did not move."""
    longest, since = 0.0, samples[0]
    for sample in samples[1:]:
        if sample[1] > since[1]:
            since = sample
        longest = max(longest, sample[0] - since[0])
    return longest


async def wait_for_event(page: Page, name: str, timeout_s: float, **match: object) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = await page.evaluate("() => window.__events")
        found = [e for e in events if e["name"] == name and all(e.get(k) == v for k, v in match.items())]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {name} within {timeout_s} s: {await page.evaluate('() => window.__events')}")


async def wait_rings_trimmed(url: str, room: str, peers: tuple[str, ...], at_most: int, timeout_s: float) -> list[int]:
    client = redis_client.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            lengths = [int(client.llen(f"pc:{{{room}}}:ring:{peer}")) for peer in peers]
            if max(lengths) <= at_most:
                return lengths
            if time.monotonic() > deadline:
                raise AssertionError(f"replay rings not trimmed by acks: {lengths}")
            await asyncio.sleep(0.25)
    finally:
        client.close()


async def test_scale_chromium_call_across_two_nodes_survives_a_drain(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    env = {"PEERCALL_NODE_HEARTBEAT_S": "1", "PEERCALL_DRAIN_WINDOW_S": "1", "PEERCALL_DRAIN_TIMEOUT_S": "10"}
    nodes: list[ServerProcess] = []
    balancer = None
    try:
        nodes = start_nodes(tmp_path, redis.url, extra_env=env)
        one, two = nodes
        ports = [int(node.base_url.rsplit(":", 1)[1]) for node in nodes]
        balancer = await TcpBalancer([("127.0.0.1", port) for port in ports], health_path="/readyz").start()
        room = one.create_room()
        url_a = one.token(room, "alice", "host")["join_url"].replace(one.base_url, balancer.base_url)
        url_b = two.token(room, "bob")["join_url"]
        assert url_b.startswith(two.base_url)
        async with chromium() as browser:
            page_a = await open_call(browser, url_a)
            page_b = await open_call(browser, url_b)
            await asyncio.gather(wait_decoding(page_a), wait_decoding(page_b))  # across nodes, via Redis
            for page in (page_a, page_b):
                await page.evaluate(EVENTS_JS)
            peer_a = await page_a.evaluate("() => window.peercallCall.self.peerId")
            decoded_a, decoded_b = await frames_decoded(page_a), await frames_decoded(page_b)
            samples_a: list[tuple[float, int]] = []
            samples_b: list[tuple[float, int]] = []
            stop_sampling = asyncio.Event()
            samplers = [
                asyncio.create_task(sample_frames(page_a, samples_a, stop_sampling)),
                asyncio.create_task(sample_frames(page_b, samples_b, stop_sampling)),
            ]

            drained_at = time.time() * 1000
            one.process.send_signal(signal.SIGTERM)
            moved = await wait_for_event(page_a, "reconnected", timeout_s=20)
            assert moved["resumed"] is True
            assert await page_a.evaluate("() => window.peercallCall.self.peerId") == peer_a
            exit_code = await asyncio.to_thread(one.process.wait, 15)
            assert exit_code == 0

            # Signaling relays through node two now: A mutes, B learns it.
            await page_a.evaluate("() => window.peercallCall.media.muteMic()")
            await wait_for_event(page_b, "peerMedia", timeout_s=10, peerId=peer_a, audio="muted")
            # Media never stopped (no flat stretch in either side's decoded-frame counter;
            # the frame rate itself depends on the machine's load, so it is not asserted),
            # and B never saw A leave.
            await wait_decoding(page_a, min_frames=decoded_a + 20, timeout_s=10)
            await wait_decoding(page_b, min_frames=decoded_b + 20, timeout_s=10)
            stop_sampling.set()
            await asyncio.gather(*samplers)
            stalls = longest_stall_s(samples_a), longest_stall_s(samples_b)
            assert max(stalls) < 2.0, (stalls, samples_a, samples_b)
            names_b = [e["name"] for e in await page_b.evaluate("() => window.__events")]
            assert "peerLeft" not in names_b, names_b
            with two.api() as api:
                identities = sorted(p["identity"] for p in api.get(f"/api/rooms/{room}").json()["participants"])
            assert identities == ["alice", "bob"]
            # The SDKs acknowledge what they processed (keepalive `ping` with `ack`, every 5 s):
            # their replay rings in Redis shrink to the last few seconds instead of every frame
            # since the join (dozens: offer/answer, candidates, stats reports of the other side).
            peer_b = await page_b.evaluate("() => window.peercallCall.self.peerId")
            rings = await wait_rings_trimmed(redis.url, room, (peer_a, peer_b), at_most=6, timeout_s=15)
            print(
                f"\nscale browser drain: A resumed on node two {moved['t'] - drained_at:.0f} ms after SIGTERM; "
                f"replay rings after acks: {rings}; longest decode stalls A/B {stalls[0]:.2f}/{stalls[1]:.2f} s"
            )
    finally:
        if balancer is not None:
            await balancer.close()
        for node in nodes:
            if node.process.poll() is None:
                stop_server(node)
        redis.stop()
