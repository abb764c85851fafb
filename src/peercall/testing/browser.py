"""Headless Debian Chromium for end-to-end tests and benchmarks (fake camera and mic)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Two pages decoding video in one browser must not be throttled when hidden.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


@asynccontextmanager
async def chromium(extra_args: list[str] | None = None, base_args: list[str] | None = None) -> AsyncIterator[Browser]:
    """Launch Debian's Chromium; ``base_args`` replaces the default flags (e.g. to drop fake-UI)."""
    args = list(CHROMIUM_ARGS if base_args is None else base_args) + (extra_args or [])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


# JavaScript run in a page: decoded-frame figures of the inbound video, from getStats.
INBOUND_VIDEO_STATS_JS = """
async () => {
  const call = window.peercallCall;
  if (!call) return null;
  const report = await call.getStats();
  if (!report) return null;
  let out = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out = { framesDecoded: s.framesDecoded || 0, bytesReceived: s.bytesReceived || 0,
              width: s.frameWidth || 0, height: s.frameHeight || 0 };
    }
  });
  return out;
}
"""


async def wait_decoding(page: Page, min_frames: int = 15, timeout_s: float = 20) -> dict[str, int]:
    """Wait until the page's inbound video has decoded ``min_frames`` frames (per getStats)."""
    deadline = time.monotonic() + timeout_s
    stats = None
    while time.monotonic() < deadline:
        stats = await page.evaluate(INBOUND_VIDEO_STATS_JS)
        if stats and stats["framesDecoded"] >= min_frames:
            return dict(stats)
        await asyncio.sleep(0.2)
    raise AssertionError(f"remote video did not decode: {stats}")


def screenshot_path(name: str) -> Path:
    """Where a test saves a screenshot: ``test-artifacts/`` (git-ignored), or the README's
    ``docs/images/`` when ``PEERCALL_DOC_SCREENSHOTS=1`` asks to refresh the docs."""
    from peercall.testing import ROOT

    folder = ROOT / ("docs/images" if os.environ.get("PEERCALL_DOC_SCREENSHOTS") == "1" else "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
