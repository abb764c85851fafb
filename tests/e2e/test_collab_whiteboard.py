"""End to end: the shared whiteboard between two Chromium pages, checked on pixels."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from playwright.async_api import Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium

pytestmark = pytest.mark.slow

RED = (229, 72, 77)
# RGBA of the board canvas at backing-store coordinates (1280×720).
PIXEL_JS = """
([x, y]) => Array.from(document.querySelector('[data-testid=whiteboard-canvas]')
  .getContext('2d').getImageData(x, y, 1, 1).data)
"""


async def join(browser, join_url: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 1000, "height": 800})).new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.get_by_test_id("whiteboard-button").click()
    return page


async def draw_line(page: Page, x0: float, x1: float, y: float) -> None:
    """Drag the mouse across the board, in fractions of its width/height."""
    box = await page.get_by_test_id("whiteboard-canvas").bounding_box()
    assert box
    await page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y, steps=20)
    await page.mouse.up()


async def wait_pixel(page: Page, x: int, y: int, expect_alpha: bool, timeout_s: float = 15) -> list[int]:
    """Wait until the board pixel at (x, y) is painted (alpha 255) or empty (alpha 0)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        rgba: list[int] = await page.evaluate(PIXEL_JS, [x, y])
        if (rgba[3] == 255) == expect_alpha:
            return rgba
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"pixel ({x},{y}) is {rgba}, wanted {'painted' if expect_alpha else 'empty'}")
        await asyncio.sleep(0.2)


async def test_collab_whiteboard_stroke_appears_remote_and_late_joiner_undo_export(
    server: ServerProcess, tmp_path: Path
):
    room = server.create_room()
    alice = server.token(room, "alice", "host", name="Alice")
    bob = server.token(room, "bob", name="Bob")
    async with chromium() as browser:
        page_a = await join(browser, alice["join_url"])
        page_b = await join(browser, bob["join_url"])
        await page_a.evaluate("() => window.peercallCall.chat.send('ready?')")
        await page_a.wait_for_function(
            "() => window.peercallCall.chat.messages[0].status === 'delivered'", timeout=20_000
        )

        await draw_line(page_a, 0.3, 0.7, 0.5)  # red by default, across the middle
        assert (await wait_pixel(page_a, 640, 360, True))[:3] == list(RED)
        assert (await wait_pixel(page_b, 640, 360, True))[:3] == list(RED)
        await wait_pixel(page_b, 640, 100, False, timeout_s=1)  # only the stroke was painted
        op = (await page_b.evaluate("() => window.peercallCall.whiteboard.ops"))[0]
        assert op["kind"] == "stroke" and op["by"] == "alice" and all(isinstance(v, int) for v in op["points"])

        # Bob draws in green: a second stroke on both sides.
        await page_b.get_by_test_id("whiteboard-colour-30a46c").click()
        await draw_line(page_b, 0.3, 0.7, 0.25)
        assert (await wait_pixel(page_a, 640, 180, True))[:3] == [48, 164, 108]

        # Bob leaves and joins again: the late joiner gets the full board.
        await page_b.goto("about:blank")
        await page_b.goto(bob["join_url"] + "&autojoin=1")
        await page_b.wait_for_function("() => window.peercallCall && window.peercallCall.self")
        await page_b.get_by_test_id("whiteboard-button").click()
        await page_b.wait_for_function("() => window.peercallCall.whiteboard.ops.length === 2", timeout=30_000)
        assert (await wait_pixel(page_b, 640, 360, True))[:3] == list(RED)
        assert (await wait_pixel(page_b, 640, 180, True))[:3] == [48, 164, 108]

        # Alice erases across Bob's line: a hole on both sides; undo brings it back.
        await page_a.get_by_test_id("whiteboard-eraser").click()
        await draw_line(page_a, 0.45, 0.55, 0.25)
        await wait_pixel(page_b, 640, 180, False)
        assert (await wait_pixel(page_b, 400, 180, True))[:3] == [48, 164, 108]  # outside the hole
        await page_a.get_by_test_id("whiteboard-undo").click()
        assert (await wait_pixel(page_b, 640, 180, True))[:3] == [48, 164, 108]

        # Alice undoes her red stroke: gone on both sides, Bob's stays.
        await page_a.get_by_test_id("whiteboard-undo").click()
        await wait_pixel(page_b, 640, 360, False)
        await wait_pixel(page_a, 640, 360, False)
        assert (await wait_pixel(page_b, 640, 180, True))[:3] == [48, 164, 108]

        # Export to PNG: decode the downloaded file in the page and look at its pixels.
        async with page_a.expect_download() as download_info:
            await page_a.get_by_test_id("whiteboard-export").click()
        saved = tmp_path / "board.png"
        await (await download_info.value).save_as(saved)
        png = saved.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = await page_a.evaluate(
            """async (b64) => {
              const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
              const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
              const c = new OffscreenCanvas(image.width, image.height); const ctx = c.getContext('2d');
              ctx.drawImage(image, 0, 0);
              return { size: [image.width, image.height], green: Array.from(ctx.getImageData(640, 180, 1, 1).data),
                       undone: Array.from(ctx.getImageData(640, 360, 1, 1).data) };
            }""",
            base64.b64encode(png).decode(),
        )
        assert pixels["size"] == [1280, 720]
        assert pixels["green"][:3] == [48, 164, 108] and pixels["undone"][:3] == [255, 255, 255]

        # Clear: nothing left anywhere.
        await page_b.get_by_test_id("whiteboard-clear").click()
        await wait_pixel(page_a, 640, 180, False)
        await wait_pixel(page_b, 640, 180, False)
