"""The call page's statistics panel: real Chromium pages in a real call; the panel shows the
live figures and draws the graphs (asserted on canvas pixels), and a screenshot is kept."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium, screenshot_path, wait_decoding

pytestmark = pytest.mark.slow

# Pixels of a canvas close to a colour (the series colours of stats-panel.js).
COLOURED_PIXELS_JS = """
([testid, rgb]) => {
  const canvas = document.querySelector(`[data-testid=${testid}]`);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - rgb[0]) < 40 && Math.abs(data[i + 1] - rgb[1]) < 40 && Math.abs(data[i + 2] - rgb[2]) < 40
        && data[i + 3] > 200) n += 1;
  }
  return n;
}
"""
IN_RGB, OUT_RGB, RTT_RGB = (0x4A, 0x83, 0xF2), (0xF2, 0xA1, 0x4A), (0x58, 0xC9, 0x8B)


async def open_call(browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 640})
    page = await context.new_page()
    await page.goto(join_url + "&autojoin=1")
    return page


async def history(page: Page) -> list[list[object]]:
    """Per-second ratings with the figures behind them, for failure messages."""
    rows: list[list[object]] = await page.evaluate(
        "() => window.peercallCall.stats.history.map((h) => [h.assessment.level, h.assessment.causes.join(),"
        " h.sample.fps_in, h.sample.fps_out, h.sample.kbps_out, h.sample.limitation, h.sample.loss_in])"
    )
    return rows


async def fact(page: Page, key: str) -> str:
    return await page.locator(f"[data-stat={key}]").inner_text()


async def test_stats_panel_shows_live_figures_and_graphs(server: ServerProcess) -> None:
    room = server.create_room(name="Support")
    async with chromium() as browser:
        page_a = await open_call(browser, server.token(room, "agent", "host", name="Agent")["join_url"])
        page_b = await open_call(browser, server.token(room, "customer", name="Customer")["join_url"])
        await asyncio.gather(wait_decoding(page_a), wait_decoding(page_b))
        panel = page_a.get_by_test_id("stats-panel")
        assert await panel.is_hidden()
        await page_a.get_by_test_id("stats-button").click()
        await panel.wait_for(state="visible")
        assert await page_a.get_by_test_id("stats-button").get_attribute("aria-pressed") == "true"
        # Figures arrive every second; the other side's level every ~2 s.
        await page_a.wait_for_function(
            "() => /excellent|good|poor/.test(document.querySelector('[data-stat=remote-level]').textContent)",
            timeout=15_000,
        )
        await asyncio.sleep(3)
        # A clean call settles at good or better (the first seconds may be rated lower while the
        # bandwidth estimate ramps up on a busy machine).
        try:
            await page_a.wait_for_function(
                "() => /^(excellent|good)/.test(document.querySelector('[data-stat=local-level]').textContent)",
                timeout=20_000,
            )
        except PlaywrightTimeout:
            raise AssertionError(f"clean call not rated good: {await history(page_a)}") from None
        assert (await fact(page_a, "connection")).startswith("direct (host ↔ host), udp")
        assert "kbit/s" in await fact(page_a, "sending") and "×" in await fact(page_a, "receiving")
        assert (await fact(page_a, "rtt")).endswith(" ms")
        assert await fact(page_a, "server-path") == "ok"
        # Each graph really draws its series (a polyline of several samples, not just the legend).
        for testid, colours in [
            ("stats-chart-bitrate", (IN_RGB, OUT_RGB)),
            ("stats-chart-frame-rate", (IN_RGB, OUT_RGB)),
            ("stats-chart-round-trip", (RTT_RGB,)),
        ]:
            for rgb in colours:
                pixels = await page_a.evaluate(COLOURED_PIXELS_JS, [testid, list(rgb)])
                assert pixels > 60, (testid, rgb, pixels, await history(page_a))
        await page_a.screenshot(path=str(screenshot_path("stats-panel.png")))
        # No alert on a healthy call; the toggle hides the panel again.
        assert await page_a.get_by_test_id("quality-banner").is_hidden()
        await page_a.get_by_test_id("stats-button").click()
        assert await panel.is_hidden()
