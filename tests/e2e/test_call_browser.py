"""End to end: real Chromium pages and a real server; assertions on decoded frames."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Page

from peercall.peer import Peer
from peercall.testing import ServerProcess
from peercall.testing.browser import chromium, screenshot_path, wait_decoding

pytestmark = pytest.mark.slow


async def open_call(browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 600})
    page = await context.new_page()
    page.on(
        "console",
        lambda msg: print(f"[{join_url[-6:]}] {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None,
    )
    await page.goto(join_url + "&autojoin=1")
    return page


async def remote_video_frames(page: Page) -> int:
    return await page.evaluate(
        "() => document.querySelector('[data-testid=remote-video]').getVideoPlaybackQuality().totalVideoFrames"
    )


async def test_call_two_browsers_see_each_other_and_hang_up(server: ServerProcess):
    room = server.create_room(name="E2E")
    alice = server.token(room, "alice", "host", name="Alice")
    bob = server.token(room, "bob", name="Bob")
    async with chromium() as browser:
        page_a = await open_call(browser, alice["join_url"])
        page_b = await open_call(browser, bob["join_url"])
        _, stats_b = await asyncio.gather(wait_decoding(page_a), wait_decoding(page_b))
        assert stats_b["bytesReceived"] > 10_000
        # The camera's full 640x480 arrives (a busy CPU may start lower and ramp up).
        full_size = "() => document.querySelector('[data-testid=remote-video]')?.videoWidth === 640"
        await page_a.wait_for_function(full_size, timeout=30_000)
        assert await page_a.evaluate("() => document.querySelector('[data-testid=remote-video]').videoHeight") == 480
        # The <video> element really renders: its frame count keeps growing.
        before = await remote_video_frames(page_b)
        await asyncio.sleep(1.0)
        assert await remote_video_frames(page_b) > before
        await page_a.get_by_test_id("call-timer").filter(has_text=":").wait_for()
        await page_b.wait_for_function(
            "() => document.querySelector('[data-testid=status]').textContent.includes('Connected')"
        )
        await page_b.screenshot(path=str(screenshot_path("call.png")))

        with server.api() as api:
            live = api.get(f"/api/rooms/{room}").json()
        assert sorted(p["identity"] for p in live["participants"]) == ["alice", "bob"]

        await page_a.get_by_test_id("hangup-button").click()
        await page_a.get_by_test_id("ended-screen").wait_for(state="visible", timeout=5000)
        await page_b.get_by_test_id("ended-screen").wait_for(state="visible", timeout=5000)

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with server.api() as api:
            calls = api.get(f"/api/rooms/{room}/calls").json()["calls"]
        if calls and calls[0]["ended_at"]:
            break
        await asyncio.sleep(0.2)
    [call] = calls
    assert call["ended_at"] is not None and call["end_reason"] == "completed"
    reasons = {p["identity"]: p["left_reason"] for p in call["participants"]}
    assert reasons["alice"] == "hangup", reasons


async def test_call_browser_and_python_peer(server: ServerProcess):
    room = server.create_room()
    browser_token = server.token(room, "agent", "host", name="Agent")
    bot_token = server.token(room, "bot", name="Python bot")
    async with chromium() as browser:
        page = await open_call(browser, browser_token["join_url"])
        await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
        peer = await Peer.join(server.base_url, bot_token["token"])
        try:
            stats = await wait_decoding(page)  # Chromium decodes the Python peer's video
            assert stats["width"] > 0
            browser_peer_id = next(iter(peer.peers))
            await peer.wait_connected(timeout=20, peer_id=browser_peer_id)
            received = await peer.wait_frames(video=30, audio=20, timeout=20, peer_id=browser_peer_id)
            # Chromium may start below the camera's size on a busy CPU and ramp up.
            deadline = time.monotonic() + 30
            while (received.width, received.height) != (640, 480) and time.monotonic() < deadline:
                more = received.video_frames + 10
                received = await peer.wait_frames(video=more, timeout=10, peer_id=browser_peer_id)
            assert (received.width, received.height) == (640, 480)
        finally:
            await peer.leave()
        await page.wait_for_function(
            "() => !document.querySelector('[data-testid=ended-screen]').hidden"
            " || document.querySelector('[data-testid=status]').textContent.length > 0"
        )
