"""End to end: in-call video effects in real Chromium, the fake camera showing a real person.

The camera is a y4m made from ``tests/data/effects-astronaut.jpg`` (NASA photograph of
Eileen Collins, public domain; shipped by scikit-image as ``astronaut``). Assertions are on
what the *remote* page decodes: background detail (flag, left) lost with blur and back
without; the face keeps its detail; a masked rectangle is made of flat cells; no new
offer/answer; every request stays on the peercall server.
"""

from __future__ import annotations

import base64
import io
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium, wait_decoding

pytestmark = pytest.mark.slow

PHOTO = Path(__file__).parents[1] / "data" / "effects-astronaut.jpg"
BACKGROUND = (slice(20, 200), slice(10, 120))  # rows, cols: the flag, top left
PERSON = (slice(120, 260), slice(300, 420))  # the face
FFMPEG_ARGS = ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-r", "30"]
MASK = {"x": 0.5, "y": 0.6, "w": 0.375, "h": 0.3}  # fractions of the frame

COUNT_SDP_JS = r"""
() => {
  // Counts local descriptions whose *media* differ from the connection's previous one: a
  // renegotiation (a track added or removed) counts; an ICE restart (new ufrag/pwd, the
  // media watchdog reacting to a slow moment under load) does not.
  window.__sdpCount = 0;
  const media = (sdp) => sdp.split('\r\n')
    .filter((l) => !/^(o=|a=end-of-candidates|a=(ice-ufrag|ice-pwd|ice-options|candidate|setup):)/.test(l))
    .join('\n');
  const orig = RTCPeerConnection.prototype.setLocalDescription;
  RTCPeerConnection.prototype.setLocalDescription = async function (...args) {
    const result = await orig.apply(this, args);
    const now = media(this.localDescription?.sdp ?? '');
    if (now !== this.__peercallMedia) {
      this.__peercallMedia = now;
      window.__sdpCount += 1;
    }
    return result;
  };
}
"""

GRAB_JS = """
() => {
  const v = document.querySelector('[data-testid=remote-video]');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext('2d').drawImage(v, 0, 0);
  return c.toDataURL('image/png');
}
"""


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("effects") / "astronaut.y4m"
    subprocess.run(
        [*FFMPEG_ARGS, "-i", str(PHOTO), "-frames:v", "2", "-pix_fmt", "yuv420p", "-s", "640x480", str(out)],
        check=True,
    )
    return out


async def open_call(browser: Browser, join_url: str, requests: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 640})
    page = await context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console", lambda m: print(f"[{join_url[-6:]}] {m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    await page.add_init_script(f"({COUNT_SDP_JS})()")
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(
        "() => window.peercallCall.on('mediaRecovering', (e) => console.warn('RECOVERING ' + JSON.stringify(e)"
        " + ' t=' + Math.round(performance.now())))"
    )
    return page


async def grab(page: Page) -> np.ndarray:
    url = await page.evaluate(GRAB_JS)
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)


def detail(img: np.ndarray, region: tuple[slice, slice]) -> float:
    """Mean absolute horizontal+vertical gradient: high for sharp texture, low when blurred."""
    part = img[region]
    return float(np.abs(np.diff(part, axis=0)).mean() + np.abs(np.diff(part, axis=1)).mean())


async def settle(page: Page, seconds: float = 2.0) -> None:
    await page.wait_for_timeout(seconds * 1000)


async def grab_until(page: Page, ok: Callable[[np.ndarray], bool], timeout_s: float = 12) -> np.ndarray:
    """Grab remote frames until ``ok`` holds (the encoder ramps quality up after a switch)."""
    img = await grab(page)
    for _ in range(int(timeout_s / 0.5)):
        if ok(img):
            break
        await settle(page, 0.5)
        img = await grab(page)
    return img


async def test_effects_blur_mask_at_remote_without_renegotiation(server: ServerProcess, camera_file: Path):
    room = server.create_room()
    agent = server.token(room, "agent", "host", name="Agent")
    customer = server.token(room, "customer", name="Customer")
    requests: list[str] = []
    async with chromium(extra_args=[f"--use-file-for-fake-video-capture={camera_file}"]) as browser:
        page_a = await open_call(browser, agent["join_url"], requests)
        page_c = await open_call(browser, customer["join_url"], requests)
        await wait_decoding(page_a, min_frames=20)
        assert await page_c.locator("[data-testid=effects-picker]").count() == 1  # the UI's controls
        await settle(page_a, 1.0)
        # Compare like with like: under CPU load the sender starts at 320x240 and ramps up.
        before = await grab_until(page_a, lambda im: im.shape == (480, 640), timeout_s=20)
        assert before.shape == (480, 640), before.shape
        sdp_before = await page_c.evaluate("() => window.__sdpCount")
        assert sdp_before >= 1, "setLocalDescription was not counted"

        await page_c.evaluate("() => window.peercallCall.effects.blurBackground()")
        await page_c.wait_for_function("() => window.peercallCall.effects.state.segmentationMs > 0", timeout=20000)
        # Inference runs off the page's main thread (the call's own work must not starve).
        assert any(w.url.endswith("/sdk/effects/segmenter-worker.js") for w in page_c.workers), page_c.workers
        sharp_bg = detail(before, BACKGROUND)
        blurred = await grab_until(page_a, lambda im: detail(im, BACKGROUND) < 0.6 * sharp_bg)
        assert detail(blurred, BACKGROUND) < 0.6 * detail(before, BACKGROUND), (
            detail(blurred, BACKGROUND),
            detail(before, BACKGROUND),
        )
        assert detail(blurred, PERSON) > 0.7 * detail(before, PERSON), (detail(blurred, PERSON), detail(before, PERSON))

        await page_c.evaluate("() => window.peercallCall.effects.disable()")
        restored = await grab_until(
            page_a, lambda im: im.shape == before.shape and detail(im, BACKGROUND) > 0.8 * sharp_bg, timeout_s=20
        )
        assert detail(restored, BACKGROUND) > 0.8 * detail(before, BACKGROUND)

        # The host asks; the participant's app consents; only then is the region masked.
        await page_c.evaluate(
            "() => window.peercallCall.on('effectsMaskRequested', (r) => { window.__maskAsked = r.rect; r.accept(); })"
        )
        assert await page_a.evaluate(f"() => window.peercallCall.effects.requestRegionMask({MASK}, 15000)") is True
        assert await page_c.evaluate("() => window.__maskAsked.w") == MASK["w"]
        h, w = before.shape
        y0, x0 = int(MASK["y"] * h), int(MASK["x"] * w)
        inside = (slice(y0 + 8, y0 + int(MASK["h"] * h) - 8), slice(x0 + 8, x0 + int(MASK["w"] * w) - 8))
        # Pixelated: flat 16-px cells (only codec noise at their edges), unlike the original.
        masked = await grab_until(page_a, lambda im: detail(im, inside) < 0.5 * detail(before, inside))
        assert detail(masked, inside) < 0.5 * detail(before, inside), (detail(masked, inside), detail(before, inside))
        assert detail(masked, BACKGROUND) > 0.7 * detail(before, BACKGROUND)  # the rest keeps its detail
        await page_c.evaluate("() => window.peercallCall.effects.disable()")

        assert await page_c.evaluate("() => window.__sdpCount") == sdp_before, "effects renegotiated"
    base = urlparse(server.base_url).hostname
    foreign = [
        u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).hostname != base
    ]
    assert not foreign, foreign
    assert any("/sdk/effects/model/" in u and u.endswith(".tflite") for u in requests), "model not served by peercall"
    assert any("/vendor/tasks-vision/wasm/" in u and u.endswith(".wasm") for u in requests), "wasm not from peercall"
