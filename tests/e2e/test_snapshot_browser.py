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


FULL_SIZE_JS = "() => document.querySelector('[data-testid=remote-video]')?.videoWidth === 640"


async def test_snapshot_local_and_remote_capture_at_track_resolution(server: ServerProcess):
    room = server.create_room()
    agent = server.token(room, "agent", "host", name="Agent")
    customer = server.token(room, "customer", name="Customer")
    async with chromium() as browser:
        page_a = await open_call(browser, agent["join_url"])
        page_c = await open_call(browser, customer["join_url"])
        await wait_decoding(page_a, min_frames=20)
        # Chromium may start (or adapt) below the camera's size on a busy CPU: wait until the
        # decoded track is the camera's full 640x480 before asking for a capture of it.
        await page_a.wait_for_function(FULL_SIZE_JS, timeout=30_000)
        # The remote video is shown small: the capture must still have the track's size.
        await page_a.add_style_tag(content="[data-testid=remote-video]{width:160px!important;height:120px!important}")
        shown = await page_a.evaluate(
            "() => { const r = document.querySelector('[data-testid=remote-video]').getBoundingClientRect();"
            " return [r.width, r.height]; }"
        )
        assert shown[0] <= 160, shown
        customer_peer = await peer_id_of(page_a)
        await page_a.wait_for_function(FULL_SIZE_JS, timeout=20_000)  # not scaled down right now (busy CPU)

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
        # Without ImageCapture (other browsers): a canvas at the video's own size.
        await page_a.wait_for_function(FULL_SIZE_JS, timeout=20_000)
        drawn = await page_a.evaluate(
            """async (peer) => {
              const saved = window.ImageCapture;
              window.ImageCapture = undefined;
              try { return await window.peercallCall.snapshots.captureRemote(peer); }
              finally { window.ImageCapture = saved; }
            }""",
            customer_peer,
        )
        meta_d, pixels_d, _ = stored_image(server, drawn)
        assert (meta_d["width"], meta_d["height"], meta_d["method"]) == (640, 480, "canvas")
        assert pixels_d.var() > MIN_VARIANCE
        meta_l, pixels_l, _ = stored_image(server, local)
        assert (meta_l["width"], meta_l["height"], meta_l["source"], meta_l["subject"]) == (640, 480, "local", "agent")
        assert pixels_l.var() > MIN_VARIANCE

        # Both sides were told about both snapshots.
        for page in (page_a, page_c):
            await page.wait_for_function(
                "() => window.__snapEvents.filter(e => e.name === 'snapshotTaken').length === 3"
            )
        # A participant may not capture the host's video: refused, nothing stored.
        agent_peer = await peer_id_of(page_c)
        refused = await page_c.evaluate(
            f"() => window.peercallCall.snapshots.captureRemote('{agent_peer}').then(() => null, (e) => e.code)"
        )
        assert refused == "forbidden"
    with server.api() as api:
        assert len(api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]) == 3
        trail = api.get(f"/api/rooms/{room}/audit").json()
    assert trail["intact"] and [e["action"] for e in trail["entries"]] == ["captured"] * 3


# The customer's app sends a "mask" (a black picture standing in for a background effect)
# and registers an effects hook that hands the raw camera over while a photo is taken.
MASK_WITH_EFFECTS_HOOK_JS = """
async () => {
  const call = window.peercallCall;
  const [raw] = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks();
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 480;
  const g = canvas.getContext('2d');
  const paint = () => { g.fillStyle = 'rgb(0, 0, 0)'; g.fillRect(0, 0, 640, 480); };
  paint();
  window.__maskTimer = setInterval(paint, 40);
  const [mask] = canvas.captureStream(25).getVideoTracks();
  await call.media.useTrack(mask);
  window.__raw = raw;
  window.__hookLog = [];
  window.__unhook = call.snapshots.registerEffects({
    suspend: () => { window.__hookLog.push('suspend'); return raw; },
    resume: () => { window.__hookLog.push('resume'); },
  });
  const caps = raw.getCapabilities();
  return { width: caps.width.max, height: caps.height.max };
}
"""


# The agent's received picture is (nearly) black: the mask arrived.
REMOTE_IS_DARK_JS = """
() => {
  const v = document.querySelector('[data-testid=remote-video]');
  if (!v.videoWidth) return false;
  const c = document.createElement('canvas');
  c.width = 64; c.height = 48;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 64, 48);
  const d = g.getImageData(0, 0, 64, 48).data;
  let max = 0;
  for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i], d[i + 1], d[i + 2]);
  return max < 40;
}
"""


async def test_snapshot_remote_high_res_request_is_seen_by_both_and_audited(server: ServerProcess):
    room = server.create_room()
    agent = server.token(room, "agent", "host", name="Agent")
    customer = server.token(room, "customer", name="Customer")
    # Two browser processes: a camera can only be switched to a larger capture size while no
    # other page uses it, and one browser's fake camera is shared by all its pages.
    async with chromium() as browser_a, chromium() as browser_c:
        page_a = await open_call(browser_a, agent["join_url"])
        page_c = await open_call(browser_c, customer["join_url"])
        await wait_decoding(page_a, min_frames=10)
        customer_peer, agent_peer = await peer_id_of(page_a), await peer_id_of(page_c)
        best = await page_c.evaluate(MASK_WITH_EFFECTS_HOOK_JS)
        assert best["width"] > 640, best  # the fake camera offers more than the call uses

        # What the call shows is the mask: a capture of the received video is blank.
        await page_a.wait_for_function(REMOTE_IS_DARK_JS, timeout=15_000)
        masked = await page_a.evaluate(f"() => window.peercallCall.snapshots.captureRemote('{customer_peer}')")
        _, masked_pixels, _ = stored_image(server, masked)
        assert masked_pixels.var() < 5, masked_pixels.var()

        # The host asks the customer's device: the photo comes from the raw camera at its best size.
        snap = await page_a.evaluate(
            f"() => window.peercallCall.snapshots.requestFromPeer('{customer_peer}', {{timeoutMs: 30000}})"
        )
        meta, pixels, _ = stored_image(server, snap)
        assert (meta["width"], meta["height"]) == (best["width"], best["height"]), meta
        assert pixels.shape == (best["height"], best["width"]) and pixels.var() > MIN_VARIANCE, pixels.var()
        # takePhoto on the fake device returns 640x480 whatever is asked: the larger grabbed frame wins.
        assert meta["method"] == "grabFrame"
        assert (meta["source"], meta["taken_by"], meta["captured_by"], meta["subject"]) == (
            "request",
            "agent",
            "customer",
            "customer",
        )
        assert snap["requestId"] and meta["request_id"] == snap["requestId"]
        assert await page_c.evaluate("() => window.__hookLog") == ["suspend", "resume"]
        # The camera is back at the size the call was using.
        await page_c.wait_for_function("() => window.__raw.getSettings().width === 640")

        # Both sides saw it: the customer was told a photo was requested and taken.
        events_c = await page_c.evaluate("() => window.__snapEvents")
        requested = [e["payload"]["request"] for e in events_c if e["name"] == "snapshotRequested"]
        assert requested == [
            {
                "requestId": snap["requestId"],
                "from": agent_peer,
                "by": {"peerId": agent_peer, "identity": "agent", "name": "Agent"},
            }
        ]
        for page in (page_a, page_c):
            await page.wait_for_function(
                "(i) => window.__snapEvents.some(e => e.name == 'snapshotTaken' && e.payload.snapshot.requestId == i)",
                arg=snap["requestId"],
            )
        # A participant cannot ask the host's device.
        refused = await page_c.evaluate(
            f"() => window.peercallCall.snapshots.requestFromPeer('{agent_peer}').then(() => null, (e) => e.code)"
        )
        assert refused == "forbidden"
        # A device that cannot capture says so; the host's request fails fast and it is audited.
        await page_c.evaluate("async () => { window.__unhook(); await window.peercallCall.media.cameraOff(); }")
        failed = await page_a.evaluate(
            f"() => window.peercallCall.snapshots.requestFromPeer('{customer_peer}').then(() => null, (e) => e.code)"
        )
        assert failed == "snapshot_failed"

    with server.api() as api:
        trail = api.get(f"/api/rooms/{room}/audit").json()
        stored = api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]
    assert len(stored) == 2  # the masked capture and the requested photo; nothing for the failure
    assert trail["intact"]
    actions = [(e["action"], e["actor"], e["device"], e["request_id"]) for e in trail["entries"]]
    assert actions[:3] == [
        ("captured", "agent", "agent", None),
        ("requested", "agent", "customer", snap["requestId"]),
        ("captured", "agent", "customer", snap["requestId"]),
    ]
    assert [a[0] for a in actions[3:]] == ["requested", "failed"]
    captured = trail["entries"][2]
    assert captured["sha256"] == meta["sha256"] and captured["snapshot_id"] == meta["id"]
    # The fake camera offers continuous focus (used for the shot) and no torch.
    assert captured["details"]["focus"] == "continuous" and captured["details"]["torch"] is False
    assert captured["details"]["width"] == best["width"] and captured["details"]["method"] == "grabFrame"


async def test_snapshot_ui_host_menu_thumbnails_and_participant_notice(server: ServerProcess):
    room = server.create_room()
    agent = server.token(room, "agent", "host", name="Agent")
    customer = server.token(room, "customer", name="Customer")
    async with chromium() as browser:
        page_a = await open_call(browser, agent["join_url"])
        page_c = await open_call(browser, customer["join_url"])
        await wait_decoding(page_a, min_frames=20)
        assert await page_c.get_by_test_id("host-menu-button").is_hidden()  # participants have no menu

        await page_a.get_by_test_id("host-menu-button").click()
        await page_a.get_by_test_id("host-snapshot").click()
        saved = page_a.get_by_test_id("notice").filter(has_text="Photo saved (")
        await saved.wait_for(timeout=15_000)
        saved_text = await saved.text_content()
        await page_c.get_by_test_id("notice").filter(has_text="Agent took a photo").wait_for(timeout=10_000)
        await page_a.get_by_test_id("snapshot-thumb").first.wait_for(timeout=10_000)
        await page_a.wait_for_function("() => document.querySelector('[data-testid=snapshot-thumb] img').complete")
        size = await page_a.evaluate(
            "() => { const i = document.querySelector('[data-testid=snapshot-thumb] img');"
            " return [i.naturalWidth, i.naturalHeight]; }"
        )
        # The thumbnail is the stored image, at the received video's size (640×480 unless the
        # sender's encoder had to scale down on this busy machine).
        assert saved_text == f"Photo saved ({size[0]}×{size[1]})" and size[0] >= 320, (saved_text, size)

        await page_a.get_by_test_id("host-menu-button").click()
        await page_a.get_by_test_id("host-snapshot-request").click()
        notice_c = page_c.get_by_test_id("notice")
        await notice_c.filter(has_text="Agent is taking a photo with your camera").wait_for(timeout=10_000)
        await notice_c.filter(has_text="Agent took a photo").wait_for(timeout=20_000)
        await page_a.wait_for_function("() => document.querySelectorAll('[data-testid=snapshot-thumb]').length === 2")
        ids = await page_a.evaluate(
            "() => [...document.querySelectorAll('[data-testid=snapshot-thumb]')].map(a => a.dataset.snapshotId)"
        )
    with server.api() as api:
        stored = api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]
    assert [s["id"] for s in stored] == ids
    assert [s["source"] for s in stored] == ["remote", "request"]
    assert [stored[0]["width"], stored[0]["height"]] == size
