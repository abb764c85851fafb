"""End to end: the admin console at /admin lists a live call and a finished one with its
stats timeline drawn as SVG charts (real calls between Chromium pages, real stats reports)."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium, wait_decoding

pytestmark = pytest.mark.slow


DELIVERY = {
    "id": "d1",
    "endpoint_id": "e1",
    "event": "call.ended",
    "event_id": "ev_1",
    "url": "https://hooks.example/x",
    "status": "failed",
    "attempts": 3,
    "response_status": 500,
    "created_at": 1_700_000_000.0,
    "last_attempt_at": 1_700_000_030.0,
}


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


async def open_call(browser: Browser, join_url: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 640, "height": 480})).new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    return page


def stats_rows(server: ServerProcess, call_id: str) -> dict[str, int]:
    with server.api() as api:
        timeline = api.get(f"/api/calls/{call_id}/stats").json()["timeline"]
    counts: dict[str, int] = {}
    for point in timeline:
        counts[point["identity"]] = counts.get(point["identity"], 0) + 1
    return counts


async def wait_stats(server: ServerProcess, call_id: str, per_side: int, timeout_s: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await asyncio.to_thread(stats_rows, server, call_id)
        if len(counts) == 2 and min(counts.values()) >= per_side:
            return counts
        await asyncio.sleep(0.5)
    raise AssertionError(f"stats reports did not arrive: {counts}")


async def wait_reconnects(server: ServerProcess, room: str, call_id: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    path = f"/api/rooms/{room}/calls/{call_id}/reconnects"
    while time.monotonic() < deadline:
        with server.api() as api:
            response = await asyncio.to_thread(api.get, path)
        if response.json()["reconnects"]:
            return
        await asyncio.sleep(0.3)
    raise AssertionError("the ICE restart was not reported")


def call_id_of(server: ServerProcess, room: str) -> str:
    with server.api() as api:
        return str(api.get(f"/api/rooms/{room}").json()["call_id"])


def test_integration_admin_page_is_static_and_csp_clean(shared_server: ServerProcess) -> None:
    page = httpx.get(f"{shared_server.base_url}/admin")
    assert page.status_code == 200 and '<script type="module" src="/admin-assets/admin.js">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " on" not in page.text.split("<body>")[1].split("=")[0]
    assert httpx.get(f"{shared_server.base_url}/admin-assets/chart.js").status_code == 200


async def test_integration_admin_console_live_and_finished_calls(shared_server: ServerProcess) -> None:
    started = time.monotonic()
    server = shared_server
    finished_room = server.create_room(name="Finished call")
    live_room = server.create_room(name="Live call")
    tokens = {
        who: server.token(room, who, "host" if who in ("alice", "carol") else "participant", name=who.title())
        for room, who in [(finished_room, "alice"), (finished_room, "bob"), (live_room, "carol"), (live_room, "dave")]
    }
    async with chromium() as browser:
        # The finished call: a few stats reports from each side, then a hang-up.
        alice = await open_call(browser, tokens["alice"]["join_url"])
        bob = await open_call(browser, tokens["bob"]["join_url"])
        await wait_decoding(bob, min_frames=10)
        finished_call = call_id_of(server, finished_room)
        await wait_stats(server, finished_call, per_side=2)
        # A manual ICE restart: the SDK reports the episode; the charts mark it on the time axis.
        await alice.evaluate("() => window.peercallCall.restartIce()")
        await wait_reconnects(server, finished_room, finished_call)
        await alice.get_by_test_id("hangup-button").click()
        await bob.get_by_test_id("ended-screen").wait_for(state="visible", timeout=10_000)
        await alice.context.close()
        await bob.context.close()

        # The live call.
        carol = await open_call(browser, tokens["carol"]["join_url"])
        dave = await open_call(browser, tokens["dave"]["join_url"])
        await wait_decoding(dave, min_frames=5)
        live_call = call_id_of(server, live_room)
        # A snapshot in the live call (uploaded with Carol's join token while she is in it).
        image = jpeg(320, 240)
        upload = await asyncio.to_thread(
            httpx.post,
            f"{server.base_url}/api/snapshots",
            content=image,
            headers={"Authorization": f"Bearer {tokens['carol']['token']}", "Content-Type": "image/jpeg"},
        )
        assert upload.status_code == 201, upload.text
        snapshot_id = upload.json()["id"]

        admin = await (await browser.new_context()).new_page()
        errors: list[str] = []  # uncaught exceptions (a refused key and the 404 probe are expected)
        admin.on("pageerror", lambda e: errors.append(str(e)))
        await admin.goto(f"{server.base_url}/admin")

        # A wrong key is refused and stays on the login form.
        await admin.get_by_test_id("api-key").fill("not-the-right-key-000")
        await admin.get_by_test_id("login-button").click()
        await admin.get_by_test_id("login-error").wait_for(state="visible", timeout=5_000)
        assert await admin.evaluate("() => sessionStorage.getItem('peercall.apiKey')") is None

        await admin.get_by_test_id("api-key").fill(server.api_key)
        await admin.get_by_test_id("login-button").click()
        live = admin.locator(f'[data-testid="live-room"][data-call="{live_call}"]')
        await live.wait_for(timeout=10_000)
        names = await live.locator("tbody tr td:first-child").all_text_contents()
        assert sorted(names) == ["Carol", "Dave"], names
        assert await admin.locator(f'[data-testid="live-room"][data-room="{finished_room}"]').count() == 0
        assert await admin.evaluate("() => sessionStorage.getItem('peercall.apiKey')") == server.api_key
        # The server has a webhook delivery log: the tab is offered (empty until webhooks exist).
        await admin.get_by_test_id("tab-webhooks").wait_for(state="visible", timeout=5_000)

        # History: both calls; the finished one's stats drawn as charts with data points.
        await admin.get_by_test_id("tab-history").click()
        row = admin.locator(f'[data-testid="call-history"] tr[data-call="{finished_call}"]')
        await row.wait_for(timeout=10_000)
        assert await row.get_attribute("data-state") == "ended"
        live_row = admin.locator(f'[data-testid="call-history"] tr[data-call="{live_call}"]')
        assert await live_row.get_attribute("data-state") == "live"
        await row.get_by_test_id("show-stats").click()
        charts = admin.locator(f'[data-testid="charts"][data-call="{finished_call}"]')
        await charts.wait_for(timeout=10_000)
        for chart in ("rtt", "loss", "bitrate", "level"):
            svg = charts.locator(f'svg[data-chart="{chart}"]')
            assert await svg.count() == 1, chart
            series = await svg.locator("polyline").evaluate_all("(ls) => ls.map((l) => l.dataset.series)")
            points = await svg.locator("circle[data-point]").count()
            print(f"chart {chart}: series {series}, {points} points")
            assert await svg.locator('line[data-marker="reconnect"]').count() >= 1, chart
            assert points >= 4 and {"alice", "bob"} <= {s.split(" ")[0] for s in series}, (chart, series, points)
        # Dots lie inside the plot area (real coordinates, not NaN).
        coords = await charts.locator('svg[data-chart="bitrate"] circle[data-point]').evaluate_all(
            "(cs) => cs.map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))])"
        )
        assert all(44 <= x <= 480 and 0 <= y <= 180 for x, y in coords), coords
        summary = await charts.locator("xpath=..").get_by_test_id("call-summary").locator("tbody tr").count()
        assert summary == 2, summary

        # Snapshots: listed; Download saves the exact bytes (fetched with the key, not via URL).
        await admin.get_by_test_id("tab-snapshots").click()
        button = admin.locator(f'[data-testid="snapshot-download"][data-snapshot="{snapshot_id}"]')
        async with admin.expect_download() as download_info:
            await button.click()
        saved = await (await download_info.value).path()
        assert saved.read_bytes() == image
        assert not errors, errors
        await carol.context.close()
        await dave.context.close()

        # A failed delivery (fixed entry; real deliveries: test_integration_webhooks.py) is shown.
        deliveries = {"deliveries": [DELIVERY]}
        webhooks = await (await browser.new_context()).new_page()
        await webhooks.route("**/api/webhooks/deliveries", lambda route: route.fulfill(json=deliveries))
        await webhooks.goto(f"{server.base_url}/admin")
        await webhooks.evaluate("(key) => sessionStorage.setItem('peercall.apiKey', key)", server.api_key)
        await webhooks.reload()
        await webhooks.get_by_test_id("tab-webhooks").click()
        row = webhooks.locator('[data-testid="deliveries"] tbody tr')
        await row.wait_for(timeout=5_000)
        cells = await row.locator("td").all_text_contents()
        assert cells[1:6] == ["call.ended", DELIVERY["url"], "failed", "3", "500"], cells
    print(f"admin test took {time.monotonic() - started:.1f} s")
