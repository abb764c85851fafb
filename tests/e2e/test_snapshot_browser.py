"""End to end: snapshots from live video in real Chromium (fake camera, 640×480).

Assertions are on what the server stored: the image's real resolution (the track's, not the
on-screen element's), its pixels (not blank), its SHA-256 against metadata and audit trail.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium, wait_decoding

pytestmark = pytest.mark.slow

MIN_VARIANCE = 20.0  # the fake camera's picture: ~180 (a flat or black frame: < 1)

# Records the snapshot events a page sees.
RECORD_EVENTS_JS = """
() => {
  const call = window.peercallCall;
  window.__snapEvents = [];
  for (const name of ['snapshotRequested', 'snapshotTaken', 'snapshotFailed']) {
    call.on(name, (payload) => window.__snapEvents.push({ name, payload: JSON.parse(JSON.stringify(payload)) }));
  }
}
"""


async def open_call(browser: Browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 640})
    page = await context.new_page()
    page.on(
        "console", lambda m: print(f"[{join_url[-6:]}] {m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(RECORD_EVENTS_JS)
    return page


def stored_image(server: ServerProcess, snapshot: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, bytes]:
    with server.api() as api:
        meta = api.get(f"/api/snapshots/{snapshot['snapshotId']}").json()
        data = api.get(meta["image_url"]).content
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)
    assert hashlib.sha256(data).hexdigest() == meta["sha256"] == snapshot["sha256"]
    return meta, pixels, data


async def peer_id_of(page: Page) -> str:
    await page.wait_for_function("() => window.peercallCall.peers.size === 1")
    return await page.evaluate("() => [...window.peercallCall.peers.keys()][0]")


async def test_snapshot_local_and_remote_capture_at_track_resolution(server: ServerProcess):
    room = server.create_room()
    agent = server.token(room, "agent", "host", name="Agent")
    customer = server.token(room, "customer", name="Customer")
    async with chromium() as browser:
        page_a = await open_call(browser, agent["join_url"])
        page_c = await open_call(browser, customer["join_url"])
        stats = await wait_decoding(page_a, min_frames=20)
        assert (stats["width"], stats["height"]) == (640, 480), stats
        # The remote video is shown small: the capture must still have the track's size.
        await page_a.add_style_tag(content="[data-testid=remote-video]{width:160px!important;height:120px!important}")
        shown = await page_a.evaluate(
            "() => { const r = document.querySelector('[data-testid=remote-video]').getBoundingClientRect();"
            " return [r.width, r.height]; }"
        )
        assert shown[0] <= 160, shown
        customer_peer = await peer_id_of(page_a)

        remote = await page_a.evaluate(f"() => window.peercallCall.snapshots.captureRemote('{customer_peer}')")
        local = await page_a.evaluate("() => window.peercallCall.snapshots.captureLocal()")

        meta, pixels, _ = stored_image(server, remote)
        assert (meta["width"], meta["height"]) == (640, 480) and pixels.shape == (480, 640)
        assert pixels.var() > MIN_VARIANCE, pixels.var()
        assert (meta["source"], meta["taken_by"], meta["subject"], meta["captured_by"]) == (
            "remote",
            "agent",
            "customer",
            "agent",
        )
        assert remote["subject"] == customer_peer and meta["method"] in ("grabFrame", "canvas")
        meta_l, pixels_l, _ = stored_image(server, local)
        assert (meta_l["width"], meta_l["height"], meta_l["source"], meta_l["subject"]) == (640, 480, "local", "agent")
        assert pixels_l.var() > MIN_VARIANCE

        # Both sides were told about both snapshots.
        for page in (page_a, page_c):
            await page.wait_for_function(
                "() => window.__snapEvents.filter(e => e.name === 'snapshotTaken').length === 2"
            )
        # A participant may not capture the host's video: refused, nothing stored.
        agent_peer = await peer_id_of(page_c)
        refused = await page_c.evaluate(
            f"() => window.peercallCall.snapshots.captureRemote('{agent_peer}').then(() => null, (e) => e.code)"
        )
        assert refused == "forbidden"
    with server.api() as api:
        assert len(api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]) == 2
        trail = api.get(f"/api/rooms/{room}/audit").json()
    assert trail["intact"] and [e["action"] for e in trail["entries"]] == ["captured", "captured"]
