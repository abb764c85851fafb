"""End to end: mute, camera, device and screen switching, host moderation, in real Chromium.

Assertions are on real effects: received audio energy and decoded frames (getStats), the
local capture track's state, pixels of the remote picture, and what the UI shows. Offers
are counted on the signaling socket to prove that no switch renegotiates.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess
from peercall.testing.browser import INBOUND_VIDEO_STATS_JS, chromium

pytestmark = pytest.mark.slow

# Counts the frames this page sends on its signaling socket, by type (offers in particular).
COUNT_SENT_FRAMES = """
(() => {
  const send = WebSocket.prototype.send;
  window.__sent = {};
  WebSocket.prototype.send = function (data) {
    try { const t = JSON.parse(data).type; window.__sent[t] = (window.__sent[t] || 0) + 1; } catch {}
    return send.call(this, data);
  };
})();
"""

INBOUND_AUDIO_STATS_JS = """
async () => {
  const report = await window.peercallCall.getStats();
  let out = null;
  report?.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out = { energy: s.totalAudioEnergy || 0, duration: s.totalSamplesDuration || 0, level: s.audioLevel || 0,
              packets: s.packetsReceived || 0 };
    }
  });
  return out;
}
"""

# The colour in the middle of the remote picture, and its size.
REMOTE_PIXEL_JS = """
() => {
  const v = document.querySelector('[data-testid=remote-video]');
  if (!v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const [r, gr, b] = g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
  return { r, g: gr, b, width: v.videoWidth, height: v.videoHeight };
}
"""

# A second video source: a red 320x240 canvas.
USE_CANVAS_TRACK_JS = """
async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  const g = canvas.getContext('2d');
  const paint = () => { g.fillStyle = 'rgb(230, 20, 20)'; g.fillRect(0, 0, 320, 240); };
  paint();
  window.__canvasTimer = setInterval(paint, 40);
  const [track] = canvas.captureStream(25).getVideoTracks();
  await window.peercallCall.media.useTrack(track);
}
"""


async def open_call(browser: Browser, join_url: str, width: int = 900) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 640})
    await context.add_init_script(COUNT_SENT_FRAMES)
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{join_url[-6:]}] {msg.type}: {msg.text}") if msg.type == "error" else None)
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    return page


async def until(page: Page, js: str, arg: Any = None, timeout_s: float = 15) -> Any:
    """Poll an async page function until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await page.evaluate(js, arg)
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {js.strip()[:80]!r}: last {value!r}")


async def video_stats(page: Page) -> dict:
    return await page.evaluate(INBOUND_VIDEO_STATS_JS) or {"framesDecoded": 0, "width": 0, "height": 0}


async def wait_frames(page: Page, more_than: int = 10, width: int | None = None, aspect: float | None = None) -> dict:
    """Wait until inbound video is decoding past `more_than` frames (optionally at `width` or `aspect`)."""
    deadline = time.monotonic() + 20
    stats: dict = {}
    while time.monotonic() < deadline:
        stats = await video_stats(page)
        shape_ok = (width is None or stats["width"] == width) and (
            aspect is None or (stats["height"] > 0 and abs(stats["width"] / stats["height"] - aspect) < 0.05)
        )
        if stats["framesDecoded"] > more_than and shape_ok:
            return stats
        await asyncio.sleep(0.2)
    raise AssertionError(f"no inbound video (want > {more_than} frames, width {width}, aspect {aspect}): {stats}")


async def frames_over(page: Page, seconds: float) -> int:
    before = (await video_stats(page))["framesDecoded"]
    await asyncio.sleep(seconds)
    return int((await video_stats(page))["framesDecoded"] - before)


async def audio_power(page: Page, seconds: float = 2.0) -> tuple[float, float]:
    """Mean received audio power over a window (energy growth / duration), and the last level."""
    a = await page.evaluate(INBOUND_AUDIO_STATS_JS)
    await asyncio.sleep(seconds)
    b = await page.evaluate(INBOUND_AUDIO_STATS_JS)
    return (b["energy"] - a["energy"]) / max(b["duration"] - a["duration"], 1e-6), b["level"]


async def offers(page: Page) -> int:
    return int(await page.evaluate("() => window.__sent.offer || 0"))


async def media_state(page: Page) -> dict:
    return await page.evaluate("() => window.peercallCall.media.state")


async def visible(page: Page, test_id: str, timeout_ms: int = 10_000) -> None:
    await page.get_by_test_id(test_id).wait_for(state="visible", timeout=timeout_ms)


async def hidden(page: Page, test_id: str, timeout_ms: int = 10_000) -> None:
    await page.get_by_test_id(test_id).wait_for(state="hidden", timeout=timeout_ms)


async def test_media_controls_mute_camera_and_source_switch(shared_server: ServerProcess) -> None:
    room = shared_server.create_room()
    alice = shared_server.token(room, "alice", "host", name="Alice Smith")
    bob = shared_server.token(room, "bob", name="Bob")
    async with chromium() as browser:
        page_a = await open_call(browser, alice["join_url"])
        page_b = await open_call(browser, bob["join_url"])
        await asyncio.gather(wait_frames(page_a), wait_frames(page_b))
        negotiated = (await offers(page_a), await offers(page_b))

        # Mute: Bob receives silence and sees the mute icon; unmute restores the sound.
        power_on, level_on = await audio_power(page_b)
        await page_a.get_by_test_id("mic-button").click()
        await visible(page_b, "remote-muted")
        assert await page_a.get_by_test_id("mic-button").get_attribute("aria-pressed") == "true"
        assert await page_a.evaluate("() => window.peercallCall.localStream.getAudioTracks()[0].enabled") is False
        await asyncio.sleep(0.5)
        power_muted, level_muted = await audio_power(page_b)
        await page_a.get_by_test_id("mic-button").click()
        await hidden(page_b, "remote-muted")
        await asyncio.sleep(0.5)
        power_back, _ = await audio_power(page_b)
        print(f"audio power on={power_on:.2e} muted={power_muted:.2e} back={power_back:.2e}")
        print(f"audio level on={level_on} muted={level_muted}")
        assert power_on > 1e-4, power_on
        assert power_muted < power_on / 1000 and level_muted < 0.001, (power_muted, level_muted)
        assert power_back > power_on / 10, power_back

        # Camera off: the capture track is released, Bob's decoder stalls, he sees initials.
        flowing = await frames_over(page_b, 1.0)
        await page_a.get_by_test_id("camera-button").click()
        await visible(page_b, "remote-avatar")
        assert await page_b.get_by_test_id("remote-initials").text_content() == "AS"
        await visible(page_a, "local-avatar")
        assert await page_a.evaluate("() => window.peercallCall.localStream.getVideoTracks()[0].readyState") == "ended"
        await asyncio.sleep(0.5)
        stalled = await frames_over(page_b, 1.5)
        await page_a.get_by_test_id("camera-button").click()
        await hidden(page_b, "remote-avatar")
        before_on = (await video_stats(page_b))["framesDecoded"]
        await wait_frames(page_b, before_on + 10)
        print(f"frames/1s before camera off={flowing}, frames/1.5s while off={stalled}")
        assert flowing >= 5 and stalled == 0, (flowing, stalled)
        assert await page_a.evaluate("() => window.peercallCall.localStream.getVideoTracks()[0].readyState") == "live"

        # Another video source mid-call (a red canvas): Bob decodes it; nobody renegotiated.
        await page_a.evaluate(USE_CANVAS_TRACK_JS)
        await wait_frames(page_b, 0, width=320)
        pixel = await until(
            page_b, f"() => {{ const p = ({REMOTE_PIXEL_JS})(); return p && p.r > 150 && p.g < 90 && p ; }}"
        )
        assert (pixel["width"], pixel["height"]) == (320, 240), pixel

        # The speaker menu (Chromium can choose the output): Bob's sound goes to the chosen one.
        await page_b.get_by_test_id("devices-button").click()
        await visible(page_b, "speaker-field")
        speaker = await page_b.evaluate(
            "async () => (await window.peercallCall.media.listDevices()).speakers.find((d) => d.deviceId !== 'default')"
        )
        await page_b.get_by_test_id("speaker-select").select_option(speaker["deviceId"])
        await until(
            page_b, "(id) => document.querySelector('[data-testid=remote-video]').sinkId === id", speaker["deviceId"]
        )
        await page_b.get_by_test_id("devices-close").click()

        # Another microphone, then it is unplugged: the default one takes over, Alice is told.
        mic2 = await page_a.evaluate(
            "async () => (await window.peercallCall.media.listDevices()).microphones.find((d) => d.label.endsWith('2'))"
        )
        await page_a.evaluate("(id) => window.peercallCall.media.selectMicrophone(id)", mic2["deviceId"])
        assert await page_a.evaluate("() => window.peercallCall.localStream.getAudioTracks()[0].label") == mic2["label"]
        await page_a.evaluate(
            """(gone) => {
                const list = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
                navigator.mediaDevices.enumerateDevices = async () => (await list()).filter((d) => d.deviceId !== gone);
                navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
            }""",
            mic2["deviceId"],
        )
        await visible(page_a, "notice")
        assert "microphone was disconnected" in (await page_a.get_by_test_id("notice").text_content() or "")
        await until(
            page_a, "() => window.peercallCall.localStream.getAudioTracks()[0].getSettings().deviceId === 'default'"
        )
        await asyncio.sleep(0.5)
        power_fallback, _ = await audio_power(page_b)
        assert power_fallback > power_on / 10, power_fallback

        # Screen share replaces the video; the browser's "Stop sharing" brings the camera back.
        await page_a.get_by_test_id("screen-button").click()
        await wait_frames(page_b, 0, aspect=16 / 9)  # the (fake) screen
        assert (await page_b.evaluate("() => [...window.peercallCall.peers.values()][0].media"))["screen"] is True
        await hidden(page_b, "remote-avatar")
        await page_a.evaluate(
            """() => { const [t] = window.peercallCall.localStream.getVideoTracks();
                       t.stop(); t.dispatchEvent(new Event('ended')); }"""
        )
        await wait_frames(page_b, 0, aspect=4 / 3)  # the camera again (the encoder may scale it down)
        assert await media_state(page_a) == {"audio": "on", "video": "on", "screen": False}
        camera = await page_a.evaluate("() => window.peercallCall.localStream.getVideoTracks()[0].label")
        assert camera == "fake_device_0", camera
        assert (await offers(page_a), await offers(page_b)) == negotiated, "a media switch renegotiated"


async def test_media_controls_late_joiner_gets_current_state(shared_server: ServerProcess) -> None:
    room = shared_server.create_room()
    alice = shared_server.token(room, "alice", "host", name="Alice")
    bob = shared_server.token(room, "bob", name="Bob")
    async with chromium() as browser:
        page_a = await open_call(browser, alice["join_url"])
        await page_a.get_by_test_id("mic-button").click()
        await page_a.get_by_test_id("camera-button").click()
        await until(page_a, "() => window.peercallCall.media.state.video === 'off'")
        page_b = await open_call(browser, bob["join_url"])
        # Bob sees the truth at once and receives neither sound nor pictures from Alice ...
        await visible(page_b, "remote-avatar")
        await visible(page_b, "remote-muted")
        await until(page_b, "() => [...window.peercallCall.peers.values()][0]?.media?.video === 'off'")
        await wait_frames(page_a)  # the call is up (Alice decodes Bob)
        await asyncio.sleep(1.0)
        assert (await video_stats(page_b))["framesDecoded"] == 0
        packets = (await page_b.evaluate(INBOUND_AUDIO_STATS_JS))["packets"]
        power_muted, _ = await audio_power(page_b, 1.5)
        # Muted audio still flows (as silence): media recovery does not take it for a broken path.
        assert (await page_b.evaluate(INBOUND_AUDIO_STATS_JS))["packets"] > packets + 20
        # ... until she turns them on: no new offer (the connection was made with a video sender).
        await page_a.get_by_test_id("camera-button").click()
        await page_a.get_by_test_id("mic-button").click()
        await wait_frames(page_b, 10, width=640)
        await hidden(page_b, "remote-avatar")
        await hidden(page_b, "remote-muted")
        await asyncio.sleep(0.5)
        power_on, _ = await audio_power(page_b, 2.0)
        assert power_on > 1e-4, power_on
        # Silence is relative to the tone itself (>= 40 dB below): the decoder's comfort-noise floor varies.
        assert power_muted < power_on / 10_000, (power_muted, power_on)
        assert (await offers(page_a), await offers(page_b)) == (0, 1)


async def test_media_controls_host_moderation(shared_server: ServerProcess) -> None:
    room = shared_server.create_room()
    teacher = shared_server.token(room, "teacher", "host", name="Tess Teacher")
    student = shared_server.token(room, "student", name="Sam Student")
    async with chromium() as browser:
        page_t = await open_call(browser, teacher["join_url"], width=360)  # the host menu on a phone
        page_s = await open_call(browser, student["join_url"])
        await asyncio.gather(wait_frames(page_t), wait_frames(page_s))
        await page_s.evaluate(
            "() => { window.__errors = [];"
            " window.peercallCall.on('error', ({ error }) => window.__errors.push(error.toJSON())); }"
        )
        for test_id in ("mic-button", "camera-button", "screen-button", "devices-button", "hangup-button"):
            box = await page_t.get_by_test_id(test_id).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, (test_id, box)

        # A participant cannot moderate: the server refuses, nothing changes for the host.
        await page_s.evaluate(
            "() => { const [host] = window.peercallCall.peers.keys();"
            " window.peercallCall.moderate(host, 'mute_audio'); }"
        )
        error = await until(page_s, "() => window.__errors.find((e) => e.ref === 'moderate')")
        assert error["code"] == "forbidden" and error["fatal"] is False
        await visible(page_s, "notice")
        await asyncio.sleep(0.5)
        assert (await media_state(page_t))["audio"] == "on"
        assert await page_t.get_by_test_id("notice").is_hidden()

        power_on, _ = await audio_power(page_t, 1.5)
        assert power_on > 1e-4, power_on

        async def host_does(test_id: str) -> None:
            await page_t.get_by_test_id("host-menu-button").click()
            await page_t.get_by_test_id(test_id).click()

        # The host mutes the student: their mic is muted at once and they are told.
        await host_does("host-mute")
        await until(page_s, "() => window.peercallCall.media.state.audio === 'muted'")
        assert await page_s.evaluate("() => window.peercallCall.localStream.getAudioTracks()[0].enabled") is False
        assert await page_s.get_by_test_id("mic-button").get_attribute("aria-pressed") == "true"
        await visible(page_s, "notice")
        assert "Tess Teacher muted your microphone" in (await page_s.get_by_test_id("notice").text_content() or "")
        await visible(page_t, "remote-muted")
        await asyncio.sleep(0.5)
        power_muted, _ = await audio_power(page_t, 1.5)
        assert power_muted < power_on / 10_000, (power_muted, power_on)

        # Ask to unmute, declined: the student stays muted.
        await host_does("host-ask-unmute")
        await visible(page_s, "moderation-prompt")
        assert "asks you to unmute" in (await page_s.get_by_test_id("prompt-text").text_content() or "")
        await page_s.get_by_test_id("prompt-decline").click()
        await hidden(page_s, "moderation-prompt")
        await asyncio.sleep(0.5)
        assert (await media_state(page_s))["audio"] == "muted"
        # Asked again, accepted: unmuted, the host's tile follows.
        await host_does("host-ask-unmute")
        await visible(page_s, "moderation-prompt")
        await page_s.get_by_test_id("prompt-accept").click()
        await until(page_s, "() => window.peercallCall.media.state.audio === 'on'")
        await hidden(page_t, "remote-muted")

        # Camera off by the host (released), then asked back on and accepted.
        await host_does("host-camera-off")
        await until(page_s, "() => window.peercallCall.localStream.getVideoTracks()[0].readyState === 'ended'")
        await visible(page_t, "remote-avatar")
        await host_does("host-ask-video")
        await visible(page_s, "moderation-prompt")
        await page_s.get_by_test_id("prompt-accept").click()
        await hidden(page_t, "remote-avatar")
        await wait_frames(page_t, (await video_stats(page_t))["framesDecoded"] + 10)

        # Removal: the student's call ends with the reason; their link no longer works.
        await page_t.get_by_test_id("host-menu-button").click()
        await page_t.get_by_test_id("host-remove").click()
        await page_t.get_by_test_id("host-remove-confirm").click()
        await visible(page_s, "ended-screen")
        assert "removed you" in (await page_s.get_by_test_id("ended-detail").text_content() or "")
        assert await page_s.get_by_test_id("rejoin-button").is_hidden()
        assert await page_s.evaluate("() => window.peercallCall.ended")
        await page_t.wait_for_function(
            "() => document.querySelector('[data-testid=status]').textContent.includes('removed')"
        )
        again = await (await browser.new_context()).new_page()
        await again.goto(student["join_url"] + "&autojoin=1")
        await visible(again, "error")
        assert "removed you" in (await again.get_by_test_id("error").text_content() or "")
        assert await again.get_by_test_id("join-button").is_disabled()
