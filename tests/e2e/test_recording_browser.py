"""End to end: record a real call in Chromium → MP4 on the server.

Two pages join through the call UI; the host presses the record button (the room lets
only hosts record: the guest's button is refused by the server). Both pages must show
the red indicator. Mid-recording the host's uploads are cut for a few seconds; the SDK
retries and resumes. The server's track must equal, byte for byte, the concatenation of
every blob MediaRecorder produced (so: every chunk, in order, none twice), the MP4 must
be H.264 + AAC of the recorded length, and its watermark region must differ from an
unwatermarked transcode of the same track.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.browser import chromium, wait_decoding
from peercall.testing.recording import codecs, ffprobe, wait_recording

pytestmark = pytest.mark.slow

# Keeps every MediaRecorder blob so the test can hash exactly what the browser produced.
KEEP_BLOBS = """
(() => {
  window.__blobs = [];
  const Original = window.MediaRecorder;
  window.MediaRecorder = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('dataavailable', (e) => { if (e.data.size) window.__blobs.push(e.data); });
    }
    start(...args) { window.__recStart = performance.now(); return super.start(...args); }
    stop() { window.__recStop = performance.now(); return super.stop(); }
  };
})();
"""

BLOBS_SHA256 = """
async () => {
  const whole = await new Blob(window.__blobs).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', whole));
  return { sha: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''), bytes: whole.byteLength,
           blobs: window.__blobs.length };
}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # This machine is shared and loaded: give FFmpeg a generous time limit.
    proc = start_server(tmp_path, extra_env={"PEERCALL_RECORDING_JOB_TIMEOUT_PER_MEDIA_S": "30"})
    yield proc
    stop_server(proc)


async def open_call(browser: Browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 640})
    await context.add_init_script(KEEP_BLOBS)
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{join_url[-6:]}] {msg.type}: {msg.text}") if msg.type == "error" else None)
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    return page


def frame(path: Path, at_s: float) -> np.ndarray:
    """One decoded frame as RGB (int16, so differences do not wrap)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    video = next(s for s in ffprobe(path)["streams"] if s["codec_type"] == "video")
    return np.frombuffer(raw, np.uint8).reshape(int(video["height"]), int(video["width"]), 3).astype(np.int16)


async def test_recording_10s_call_in_chromium_to_mp4(server: ServerProcess, tmp_path: Path):
    room = server.create_room(settings={"recording": "host", "recording_watermark": "peercall {room} {time}"})
    host_url = server.token(room, "host", role="host", name="Host")["join_url"]
    guest_url = server.token(room, "guest", name="Guest")["join_url"]
    async with chromium() as browser:
        host, guest = await open_call(browser, host_url), await open_call(browser, guest_url)
        await wait_decoding(host, 10, 30)
        await wait_decoding(guest, 10, 30)

        await guest.get_by_test_id("record-button").click()  # the room lets only hosts record
        await guest.get_by_test_id("notice").filter(has_text="may not record").wait_for(timeout=10_000)

        await host.get_by_test_id("record-button").click()
        for page in (host, guest):
            await page.get_by_test_id("recording-indicator").wait_for(state="visible", timeout=10_000)
        started = time.monotonic()
        await asyncio.sleep(3)
        # The network under the uploads drops for 3 s; MediaRecorder keeps recording.
        await host.route("**/api/recordings/upload/**", lambda route: route.abort("internetdisconnected"))
        await asyncio.sleep(3)
        await host.unroute("**/api/recordings/upload/**")
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - started)))
        retries = await host.evaluate("() => window.peercallCall.recording.uploader.retries")
        await host.get_by_test_id("record-button").click()
        for page in (host, guest):
            try:
                await page.get_by_test_id("recording-indicator").wait_for(state="hidden", timeout=60_000)
            except Exception:
                progress = (
                    "() => { const u = window.peercallCall.recording.uploader; return u && [u.acked, u.produced]; }"
                )
                print("notice:", await page.get_by_test_id("notice").text_content(), await page.evaluate(progress))
                raise
        client = await host.evaluate(BLOBS_SHA256)
        # How long MediaRecorder ran, measured in the page (start() → stop() calls).
        recorded_s = await host.evaluate("() => (window.__recStop - window.__recStart) / 1000")
        assert 9.0 <= recorded_s <= 20.0, recorded_s
        assert retries >= 1 and client["blobs"] >= 4, (retries, client)

    with server.api() as api:
        listing = api.get("/api/recordings", params={"room_id": room}).json()["recordings"]
        assert len(listing) == 1
        body = wait_recording(api, listing[0]["id"], {"ready", "failed"}, 120)
        assert body["state"] == "ready", body
        track = body["tracks"][0]
        assert track["complete"] and track["sha256"] == client["sha"] and track["bytes"] == client["bytes"]
        mp4 = tmp_path / "call.mp4"
        mp4.write_bytes(api.get(f"/api/recordings/{body['id']}/download").content)
    info = ffprobe(mp4)
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    assert abs(float(info["format"]["duration"]) - recorded_s) <= 1.0, (info["format"]["duration"], recorded_s)
    assert info["format"]["format_name"].startswith("mov,mp4")

    # The same track transcoded without a watermark: only the watermark corner differs.
    track_file = next((server.data_dir / "recordings" / body["id"]).glob("trk_*.webm"))
    assert hashlib.sha256(track_file.read_bytes()).hexdigest() == client["sha"]
    plain = tmp_path / "plain.mp4"
    run = subprocess.run(
        [sys.executable, "-m", "peercall.cli", "recording", "transcode", str(track_file), str(plain), "--quiet"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    marked, unmarked = frame(mp4, 5.0), frame(plain, 5.0)
    h, w, _ = marked.shape
    changed = np.abs(marked - unmarked).max(axis=2) > 40  # pixels the watermark changed
    corner = (slice(h - h // 10, h), slice(0, w // 3))
    assert changed[corner].mean() > 0.02, changed[corner].mean()  # the text strokes
    assert changed[: h // 2].mean() < 0.005, changed[: h // 2].mean()  # the rest: same picture


async def test_recording_double_ender_in_chromium(server: ServerProcess, tmp_path: Path):
    """Each browser records its own camera + mic; the guest joins in by itself when the
    host starts, finishes its upload when the host stops; the server composes both."""
    room = server.create_room(settings={"recording": "any"})
    host_url = server.token(room, "host", role="host", name="Host")["join_url"]
    guest_url = server.token(room, "guest", name="Guest")["join_url"]
    async with chromium() as browser:
        host, guest = await open_call(browser, host_url), await open_call(browser, guest_url)
        await wait_decoding(host, 10, 30)
        rid = await host.evaluate("() => window.peercallCall.recording.start({ mode: 'double-ender' })")
        await guest.wait_for_function("() => window.peercallCall.recording.active", timeout=15_000)
        for page in (host, guest):
            await page.get_by_test_id("recording-indicator").wait_for(state="visible", timeout=10_000)
        await asyncio.sleep(6)
        stopped = await host.evaluate("() => window.peercallCall.recording.stop()")
        assert stopped["mode"] == "double-ender"
        for page in (host, guest):
            await page.get_by_test_id("recording-indicator").wait_for(state="hidden", timeout=60_000)
    with server.api() as api:
        body = wait_recording(api, rid, {"ready", "failed"}, 150)
        assert body["state"] == "ready", body
        assert sorted(t["identity"] for t in body["tracks"]) == ["guest", "host"]
        assert all(t["complete"] and t["chunks"] >= 2 for t in body["tracks"])
        mp4 = tmp_path / "both.mp4"
        mp4.write_bytes(api.get(f"/api/recordings/{rid}/download").content)
    info = ffprobe(mp4)
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    assert 5.0 <= float(info["format"]["duration"]) <= 12.0
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "3.0", "-i", str(mp4), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    green = np.frombuffer(raw, np.uint8).reshape(360, 1280, 3)[..., 1].astype(int)
    # Chromium's fake camera (green) on both halves, not the black of a missing side.
    assert green[:, :640].mean() > 60 and green[:, 640:].mean() > 60, (green[:, :640].mean(), green[:, 640:].mean())


async def test_recording_indicator_shown_to_a_late_joiner(server: ServerProcess):
    room = server.create_room(settings={"recording": "any"})
    host_url = server.token(room, "host", role="host", name="Host")["join_url"]
    guest_url = server.token(room, "guest", name="Guest")["join_url"]
    async with chromium() as browser:
        host = await open_call(browser, host_url)
        rid = await host.evaluate("() => window.peercallCall.recording.start({ mode: 'local' })")
        await host.get_by_test_id("recording-indicator").wait_for(state="visible", timeout=10_000)
        guest = await open_call(browser, guest_url)  # joins while the recording runs
        await guest.get_by_test_id("recording-indicator").wait_for(state="visible", timeout=10_000)
        assert await guest.evaluate("() => window.peercallCall.recording.state.id") == rid
        await host.evaluate("() => window.peercallCall.recording.stop()")
        await guest.get_by_test_id("recording-indicator").wait_for(state="hidden", timeout=30_000)
