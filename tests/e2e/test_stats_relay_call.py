"""Statistics name the candidate pair: a relay-only call through a real coturn shows as
"relay (TURN udp|tcp)" in the stats sample, on the call page's panel and in the REST summary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.browser import chromium, wait_decoding
from peercall.testing.coturn import SECRET, start_coturn, stop_coturn

pytestmark = pytest.mark.slow


@pytest.fixture
def relay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    coturn = start_coturn(tmp_path_factory.mktemp("coturn"))
    region = {"region": "local", "host": coturn.host, "port": coturn.port, "tls_port": None}
    env = {"PEERCALL_TURN_SECRET": SECRET, "PEERCALL_TURN_SERVERS": json.dumps([region])}
    server = start_server(tmp_path_factory.mktemp("server"), extra_env=env)
    yield server
    stop_server(server)
    stop_coturn(coturn)


async def test_stats_relay_only_call_reports_the_relay_pair(relay_server: ServerProcess) -> None:
    room = relay_server.create_room(settings={"relay_only": True})
    links = [relay_server.token(room, who)["join_url"] for who in ("alice", "bob")]
    async with chromium() as browser:
        pages = []
        for link in links:
            page = await (await browser.new_context()).new_page()
            await page.goto(link + "&autojoin=1")
            pages.append(page)
        await asyncio.gather(*(wait_decoding(page) for page in pages))
        await asyncio.sleep(5)  # a few samples, and stats reports at the server
        for page in pages:
            pair = await page.evaluate("() => window.peercallCall.stats.history.at(-1).sample.pair")
            assert pair["local"] == "relay" and pair["relay_protocol"] in ("udp", "tcp"), pair
            await page.get_by_test_id("stats-button").click()
            await page.wait_for_function("() => document.querySelector('[data-stat=connection]')?.textContent")
            connection = await page.locator("[data-stat=connection]").inner_text()
            assert connection.startswith(f"relay (TURN {pair['relay_protocol']})"), connection
        call_id = await pages[0].evaluate("() => window.peercallCall.self.callId")
    with relay_server.api() as api:
        body = api.get(f"/api/calls/{call_id}/stats").json()
    assert {s["identity"]: s["connection"]["local"] for s in body["summary"]} == {"alice": "relay", "bob": "relay"}
