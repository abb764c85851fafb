"""End to end: each failure a user can meet shows a clear message in the real UI."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, Route

from peercall.testing import ServerProcess
from peercall.testing.browser import CHROMIUM_ARGS, chromium

pytestmark = pytest.mark.slow


async def open_page(browser: Browser, url: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(url)
    return page


async def error_text(page: Page) -> str:
    await page.get_by_test_id("error").wait_for(state="visible", timeout=10_000)
    return (await page.get_by_test_id("error").text_content()) or ""


async def test_call_link_and_room_errors_are_explained(server: ServerProcess):
    room = server.create_room()
    alice = server.token(room, "alice", "host", name="Alice")
    bob = server.token(room, "bob", name="Bob")
    carol = server.token(room, "carol", name="Carol")
    header, payload, signature = alice["token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    async with chromium() as browser:
        assert "incomplete" in await error_text(await open_page(browser, f"{server.base_url}/call"))
        assert "not valid" in await error_text(await open_page(browser, f"{server.base_url}/call#token=abc&autojoin=1"))
        forged_page = await open_page(browser, f"{server.base_url}/call#token={forged}&autojoin=1")
        assert "not valid" in await error_text(forged_page)

        page_a = await open_page(browser, alice["join_url"] + "&autojoin=1")
        page_b = await open_page(browser, bob["join_url"] + "&autojoin=1")
        for page in (page_a, page_b):
            await page.wait_for_function(
                "() => document.querySelector('[data-testid=status]').textContent === 'Connected'", timeout=15_000
            )
        page_c = await open_page(browser, carol["join_url"] + "&autojoin=1")
        assert "full" in await error_text(page_c)

        # Bob opens his link in a second tab: the first tab is told, the call goes on.
        page_b2 = await open_page(browser, bob["join_url"] + "&autojoin=1")
        await page_b.get_by_test_id("ended-screen").wait_for(state="visible", timeout=10_000)
        assert "another tab" in await page_b.get_by_test_id("ended-screen").inner_text()
        await page_b2.wait_for_function(
            "() => document.querySelector('[data-testid=remote-video]').getVideoPlaybackQuality().totalVideoFrames > 5",
            timeout=15_000,
        )

        # The organiser deletes the room mid-call: everyone sees why the call ended.
        with server.api() as api:
            assert api.delete(f"/api/rooms/{room}").status_code == 204
        for page in (page_a, page_b2):
            await page.get_by_test_id("ended-screen").wait_for(state="visible", timeout=10_000)
            assert "closed by the organiser" in await page.get_by_test_id("ended-screen").inner_text()
        late = await open_page(browser, alice["join_url"] + "&autojoin=1")
        assert "does not exist" in await error_text(late)


async def test_call_media_errors_are_explained(server: ServerProcess):
    room = server.create_room()
    token = server.token(room, "pat", name="Pat")
    # Without the fake-UI flag headless Chromium denies the camera prompt.
    denying = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    async with chromium(base_args=denying) as browser:
        page = await open_page(browser, token["join_url"] + "&autojoin=1")
        assert "blocked" in await error_text(page)
        assert await page.get_by_test_id("retry-media-button").is_visible()

        # The same page from a plain-http origin that is not localhost: no secure context.
        insecure = await (await browser.new_context()).new_page()

        async def proxy(route: Route) -> None:
            path = route.request.url.split("peercall.invalid", 1)[1].split("#")[0]
            async with httpx.AsyncClient() as client:
                upstream = await client.get(server.base_url + path)
            await route.fulfill(
                status=upstream.status_code,
                body=upstream.content,
                headers={"content-type": upstream.headers["content-type"]},
            )

        await insecure.route("http://peercall.invalid/**", proxy)
        await insecure.goto(f"http://peercall.invalid/call#token={token['token']}")
        assert "secure connection" in await error_text(insecure)
