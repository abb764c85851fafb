"""The ICE tester page in Chromium against a real coturn: relay-only calls over UDP, TCP and TLS."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.browser import CHROMIUM, CHROMIUM_ARGS
from peercall.testing.coturn import Coturn, start_coturn, stop_coturn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    stop_coturn(server)


@pytest.fixture(scope="module")
def peercall_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    stop_server(server)


def trusting_home(home: Path, ca_cert: Path) -> Path:
    """A HOME whose NSS database trusts the test CA, as an admin would install a company CA."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, timeout=30)
    command = ["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "peercall-test-ca", "-i", str(ca_cert)]
    subprocess.run(command, check=True, timeout=30)
    return home


@asynccontextmanager
async def chromium_trusting(home: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env={"HOME": str(home)}
        )
        try:
            yield browser
        finally:
            await browser.close()


async def run_tester(page: Page, urls: list[str], username: str, credential: str) -> list[dict]:
    await page.get_by_test_id("urls").fill("\n".join(urls))
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("credential").fill(credential)
    await page.get_by_test_id("run").click()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=status]').dataset.state === 'done'", timeout=90_000
    )
    return await page.eval_on_selector_all("[data-testid=relay-result]", "rows => rows.map(r => ({...r.dataset}))")


async def test_turn_ice_tester_relay_only_calls_over_udp_tcp_and_tls(
    coturn: Coturn, peercall_server: ServerProcess, tmp_path: Path
):
    assert coturn.ca is not None
    home = trusting_home(tmp_path / "home", coturn.ca.ca_cert)
    username, credential = coturn.credentials("browser")
    async with chromium_trusting(home) as browser:
        page = await browser.new_page()
        page.on("console", lambda msg: print(f"[ice-test] {msg.type}: {msg.text}") if msg.type == "error" else None)
        await page.goto(f"{peercall_server.base_url}/ice-test")
        results = await run_tester(page, coturn.urls(), username, credential)
        candidates = await page.eval_on_selector_all(
            "[data-testid=candidates] tbody tr", "rows => rows.map(r => ({...r.dataset}))"
        )
        errors = await page.get_by_test_id("candidate-errors").inner_text()
    by_transport = {r["transport"]: r for r in results}
    assert sorted(by_transport) == ["tcp", "tls", "udp"], (results, errors)
    for transport, row in by_transport.items():
        assert row["ok"] == "true", (transport, row, errors)
        assert row["candidateType"] == "relay" and row["relayProtocol"] == transport, row
        assert int(row["frames"]) >= 10
    relay_protocols = {c["relayProtocol"] for c in candidates if c["type"] == "relay"}
    assert relay_protocols == {"udp", "tcp", "tls"}, candidates


async def test_turn_ice_tester_reports_untrusted_tls_and_wrong_credentials(
    coturn: Coturn, peercall_server: ServerProcess, tmp_path: Path
):
    """Without the CA, Chromium refuses TURNS (701); with a wrong credential no relay connects."""
    home = tmp_path / "plain-home"
    home.mkdir()
    tls_url = next(u for u in coturn.urls() if u.startswith("turns:"))
    udp_url = next(u for u in coturn.urls() if u.endswith("transport=udp"))
    async with chromium_trusting(home) as browser:
        page = await browser.new_page()
        await page.goto(f"{peercall_server.base_url}/ice-test")
        username, _ = coturn.credentials("browser")
        results = await asyncio.wait_for(run_tester(page, [tls_url, udp_url], username, "wrong"), 120)
        errors = await page.get_by_test_id("candidate-errors").inner_text()
    assert [r["ok"] for r in results] == ["false", "false"], results
    assert "701" in errors or "401" in errors, errors
