"""Synthetic TURN monitoring in a real server: probes on a schedule, exported on /metrics."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.coturn import PEER_ADDRESS, SECRET, start_coturn, stop_coturn

pytestmark = pytest.mark.slow


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def _scrape(server: ServerProcess) -> str:
    with server.api() as api:
        response = api.get("/metrics")
    response.raise_for_status()
    return response.text


def _wait_metric(server: ServerProcess, name: str, want: float, timeout_s: float = 15, **labels: str) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = _scrape(server)
        if _metric(text, name, **labels) == want:
            return text
        time.sleep(0.2)
    raise AssertionError(
        f"{name}{labels} never became {want}:\n" + "\n".join(re.findall(r"^peercall_turn.*$", text, re.M))
    )


def test_turn_monitor_exports_probe_results_and_notices_an_outage(tmp_path: Path):
    coturn = start_coturn(tmp_path / "coturn")
    assert coturn.ca is not None and coturn.tls_port
    servers = [{"region": "local", "host": "127.0.0.1", "port": coturn.port, "tls_port": coturn.tls_port}]
    env = {
        "PEERCALL_TURN_SECRET": SECRET,
        "PEERCALL_TURN_SERVERS": json.dumps(servers),
        "PEERCALL_TURN_MONITOR_INTERVAL": "0.5",
        "PEERCALL_TURN_MONITOR_TIMEOUT": "1",
        "PEERCALL_TURN_MONITOR_BIND": PEER_ADDRESS,
        "PEERCALL_TURN_MONITOR_CA": str(coturn.ca.ca_cert),
    }
    (tmp_path / "server").mkdir()
    server: ServerProcess | None = None
    try:
        server = start_server(tmp_path / "server", extra_env=env)
        assert httpx.get(f"{server.base_url}/metrics").status_code == 401  # not public
        text = _wait_metric(server, "peercall_turn_check_up", 1, region="local", transport="tls")
        for transport in ("stun", "udp", "tcp"):
            assert _metric(text, "peercall_turn_check_up", region="local", transport=transport) == 1, transport
        assert (_metric(text, "peercall_turn_check_allocate_seconds", transport="udp") or 0) > 0
        assert (_metric(text, "peercall_turn_check_rtt_seconds", transport="tls") or 0) > 0
        assert _metric(text, "peercall_turn_dangerous", region="local") == 0
        assert "peercall_process_resident_memory_bytes" in text

        stop_coturn(coturn)  # the TURN server dies: the next probes say so
        text = _wait_metric(server, "peercall_turn_check_up", 0, region="local", transport="tcp")
        assert (
            _metric(text, "peercall_turn_check_failures_total", transport="tcp", reason="connection_refused") or 0
        ) >= 1
    finally:
        if server is not None:
            stop_server(server)
        stop_coturn(coturn)
