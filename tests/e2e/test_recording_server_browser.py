"""End to end: a room recorded by the server, two Chromium pages (fake camera and mic).

The server's recorder peer joins as a third, announced member: both pages show the REC
indicator ("Recorded by the server"), neither draws a tile for the recorder (each shows
the other person), the record button is hidden, and after both hang up the server's MP4
holds both cameras side by side with sound.
"""

from __future__ import annotations

import asyncio
import subprocess
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path, extra_env={"PEERCALL_RECORDING_JOB_TIMEOUT_PER_MEDIA_S": "30"})
    yield proc
    stop_server(proc)


async def open_call(browser: Browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 640})
    page = await context.new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    return page


# Bytes sent per remote role (audio + video RTP) and the page's clock, to compute uplink rates.
SENT_BY_ROLE_JS = """
async () => {
  const call = window.peercallCall;
  const out = {};
  for (const peer of call.peers.values()) {
    const report = await call.getStats(peer.peerId);
    let bytes = 0;
    report.forEach((s) => { if (s.type === 'outbound-rtp') bytes += s.bytesSent || 0; });
    out[peer.role === 'recorder' ? 'recorder' : 'person'] = [bytes, performance.now() / 1000];
  }
  return out;
}
"""


async def sent_by_role(page: Page) -> dict[str, list[float]]:
    return dict(await page.evaluate(SENT_BY_ROLE_JS))


async def test_recording_server_side_two_chromium_pages(server: ServerProcess, tmp_path: Path):
    room = server.create_room(settings={"recording": "server"})
    host_url = server.token(room, "host", role="host", name="Host")["join_url"]
    guest_url = server.token(room, "guest", name="Guest")["join_url"]
    async with chromium() as browser:
        host = await open_call(browser, host_url)
        guest = await open_call(browser, guest_url)
        await wait_decoding(host, 10, 30)
        await wait_decoding(guest, 10, 30)
        started = time.monotonic()
        for page, other in ((host, "Guest"), (guest, "Host")):
            indicator = page.get_by_test_id("recording-indicator")
            await indicator.wait_for(state="visible", timeout=10_000)
            assert await indicator.get_attribute("title") == "Recorded by the server"
            assert await page.get_by_test_id("remote-name").text_content() == other  # not the recorder
            roles = await page.evaluate("() => [...window.peercallCall.peers.values()].map((p) => p.role).sort()")
            assert roles == (["participant", "recorder"] if other == "Guest" else ["host", "recorder"])
            assert await page.get_by_test_id("record-button").is_hidden()
        before = [await sent_by_role(page) for page in (host, guest)]
        await asyncio.sleep(max(0.0, 6 - (time.monotonic() - started)))
        after = [await sent_by_role(page) for page in (host, guest)]
        for name, (b, a) in zip(("host", "guest"), zip(before, after, strict=True), strict=True):
            kbps = {role: (a[role][0] - b[role][0]) * 8 / 1000 / (a[role][1] - b[role][1]) for role in a}
            print(f"{name} uplink kbit/s by receiver: {kbps}")  # the recorder's share is the added cost
            assert kbps["recorder"] > 100, kbps  # each page really sends its media to the recorder too
        assert await host.get_by_test_id("remote-name").text_content() == "Guest"  # still the person
        await guest.get_by_test_id("hangup-button").click()
        # 1:1: the guest hung up, so the host's call ends too (the recorder does not keep it open).
        await host.get_by_test_id("hangup-button").wait_for(state="hidden", timeout=10_000)
        call_s = time.monotonic() - started
    with server.api() as api:
        [listed] = api.get("/api/recordings", params={"room_id": room}).json()["recordings"]
        body = wait_recording(api, listed["id"], {"ready", "failed"}, 120)
        assert body["state"] == "ready", body
        assert body["mode"] == "server" and sorted(t["identity"] for t in body["tracks"]) == ["guest", "host"]
        mp4 = tmp_path / "server.mp4"
        mp4.write_bytes(api.get(f"/api/recordings/{body['id']}/download").content)
    info = ffprobe(mp4)
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    duration = float(info["format"]["duration"])
    assert call_s <= duration <= call_s + 20, (duration, call_s)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(duration - 2), "-i", str(mp4), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    green = np.frombuffer(raw, np.uint8).reshape(360, 1280, 3)[..., 1].astype(int)
    # Chromium's fake camera (green) on both halves, not the black of a missing side.
    assert green[:, :640].mean() > 60 and green[:, 640:].mean() > 60, (green[:, :640].mean(), green[:, 640:].mean())
    loud = subprocess.run(
        ["ffmpeg", "-v", "info", "-i", str(mp4), "-af", "volumedetect", "-vn", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    mean_db = float(loud.split("mean_volume:")[1].split("dB")[0])
    assert mean_db > -40, mean_db  # the fake microphones' beeps, not silence
