"""End to end: an ICE-restart offer lost on the way (written into a signaling socket that was
already dead) is sent again, and the recovery completes, in real Chromium.

Seen in CI before the fix: after a 5 s link cut, media flowed both ways but one side's
status stayed "Reconnecting…" — its restart offer never reached the other side, and perfect
negotiation makes no new offer while one waits for its answer. Here the page itself drops
its next offer frame (a wrapper around ``WebSocket.send``), which is what a dead socket
does to it, deterministically.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess
from peercall.testing.browser import INBOUND_VIDEO_STATS_JS, chromium

pytestmark = pytest.mark.slow

# Offers this page sends (`__sent`) and drops (`__dropped`, while `__dropOffers` > 0);
# every `mediaRecovered` event of the Call (`__recovered`).
LOSSY_SEND = """
(() => {
  const send = WebSocket.prototype.send;
  Object.assign(window, { __sent: 0, __dropped: 0, __dropOffers: 0, __recovered: [] });
  WebSocket.prototype.send = function (data) {
    let type = null;
    try { type = JSON.parse(data).type; } catch {}
    if (type === 'offer' && window.__dropOffers > 0) { window.__dropOffers -= 1; window.__dropped += 1; return; }
    if (type === 'offer') window.__sent += 1;
    return send.call(this, data);
  };
})();
"""


async def _open(browser: Browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 800, "height": 600})
    await context.add_init_script(LOSSY_SEND)
    page = await context.new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate("() => window.peercallCall.on('mediaRecovered', (e) => window.__recovered.push(e))")
    return page


async def _frames(page: Page) -> int:
    return int((await page.evaluate(INBOUND_VIDEO_STATS_JS) or {}).get("framesDecoded", 0))


async def _wait_frames(page: Page, more_than: int, timeout_s: float = 20) -> int:
    deadline = time.monotonic() + timeout_s
    while (frames := await _frames(page)) <= more_than and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert frames > more_than, f"no video decoded past {more_than} frames: {frames}"
    return frames


async def test_reconnect_lost_restart_offer_is_sent_again(shared_server: ServerProcess) -> None:
    room = shared_server.create_room()
    async with chromium() as browser:
        alice = await _open(browser, shared_server.token(room, "alice", "host")["join_url"])
        bob = await _open(browser, shared_server.token(room, "bob")["join_url"])  # the newcomer: impolite, leads
        await asyncio.gather(_wait_frames(alice, 10), _wait_frames(bob, 10))
        offers_before = await bob.evaluate("() => window.__sent")
        ufrag_before = await alice.evaluate(_LOCAL_UFRAG)
        assert ufrag_before, "no ICE transport stats"

        await bob.evaluate("() => { window.__dropOffers = 1; window.peercallCall.restartIce(); }")
        started = time.monotonic()
        deadline = started + 15
        while not await bob.evaluate("() => window.__recovered.length") and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        took = time.monotonic() - started
        dropped, sent, recovered = await bob.evaluate("() => [window.__dropped, window.__sent, window.__recovered]")
        print(f"\nlost offer: dropped {dropped}, sent again {sent - offers_before}, recovered after {took:.1f} s")
        assert dropped == 1, dropped
        assert recovered and recovered[0]["outcome"] == "recovered", recovered
        assert sent - offers_before >= 1  # the copy went out (and was answered: the episode ended)
        # The restart really happened on the other side: it answered with new ICE credentials.
        assert await alice.evaluate(_LOCAL_UFRAG) != ufrag_before
        # Media goes on both ways.
        a, b = await _frames(alice), await _frames(bob)
        await asyncio.gather(_wait_frames(alice, a + 20), _wait_frames(bob, b + 20))


# This page's ICE username fragment on its (only) connection: new after an ICE restart.
_LOCAL_UFRAG = """
async () => {
  let ufrag = null;
  (await window.peercallCall.getStats())?.forEach((s) => {
    if (s.type === 'transport' && s.iceLocalUsernameFragment) ufrag = s.iceLocalUsernameFragment;
  });
  return ufrag;
}
"""
