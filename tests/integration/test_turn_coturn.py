"""`peercall turn test` and the coturn configuration against a real coturn on loopback.

The probe's sockets bind to 127.0.0.2, the one loopback address the test overlay lets
coturn relay to; 127.0.0.1 and every other special range stay denied, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.testing import ROOT
from peercall.testing.coturn import (
    PEER_ADDRESS,
    SECRET,
    Coturn,
    coturn_options,
    start_coturn,
    stop_coturn,
)
from peercall.turn.client import allocate
from peercall.turn.failures import ProbeFailure
from peercall.turn.ice_servers import turn_credentials
from peercall.turn.probe import ProbeOptions, run_probe, wrong_password
from peercall.turn.urls import IceUrl, expand

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    stop_coturn(server)


def turn_test(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    """Run the real CLI; returns its exit status and the JSON object on its last line."""
    command = [sys.executable, "-m", "peercall.cli", "turn", "test", "--json", "--timeout", "2", *args]
    environment = {**os.environ, **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=environment)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_turn_cli_proves_stun_udp_tcp_and_tls(coturn: Coturn):
    assert coturn.ca is not None
    status, report = turn_test(
        *coturn.urls(), "--secret", SECRET, "--ca", str(coturn.ca.ca_cert), "--bind", PEER_ADDRESS
    )
    checks = {c["transport"]: c for c in report["checks"]}
    assert sorted(checks) == ["stun", "tcp", "tls", "udp"]
    for transport, check in checks.items():
        assert check["ok"], (transport, check["reason"])
        assert check["reason"] is None and check["rtt_ms"] > 0
        if transport != "stun":
            assert check["allocate_ms"] > 0 and check["relayed_address"].startswith(f"{PEER_ADDRESS}:")
    assert checks["tls"]["tls"]["subject"] == "CN=localhost" and checks["tls"]["tls"]["days_left"] > 0
    assert report["dangerous"] == [] and status == 0
    refused = {n["target"] for n in report["negative_probes"] if n["outcome"] == "refused"}
    assert {"127.0.0.1", "0.0.0.0", "169.254.169.254", "10.0.0.1", "wrong secret"} <= refused
    assert report["credential"]["expires_in_s"] > 0


def test_turn_cli_wrong_secret_reports_auth_failure(coturn: Coturn):
    assert coturn.ca is not None
    status, report = turn_test(
        *coturn.urls(), "--secret", "not-the-secret-0123456", "--ca", str(coturn.ca.ca_cert), "--bind", PEER_ADDRESS
    )
    assert status == 1
    for check in report["checks"]:
        if check["transport"] == "stun":
            assert check["ok"]  # STUN needs no credentials
        else:
            assert not check["ok"] and check["reason_code"] == "auth_rejected"
            assert "auth rejected (401" in check["reason"]


def test_turn_cli_username_password_and_untrusted_tls(coturn: Coturn):
    username, password = coturn.credentials("operator")
    status, report = turn_test(*coturn.urls(), "--username", username, "--password", password, "--bind", PEER_ADDRESS)
    checks = {c["transport"]: c for c in report["checks"]}
    assert checks["udp"]["ok"] and checks["tcp"]["ok"]
    assert checks["tls"]["reason_code"] == "tls_certificate" and "issuer unknown" in checks["tls"]["reason"]
    assert status == 1


def test_turn_cli_takes_the_secret_from_the_environment(coturn: Coturn):
    """Keeps the secret off the command line (visible in `ps`)."""
    urls = [u for u in coturn.urls() if not u.startswith("turns:")]
    status, report = turn_test(*urls, "--bind", PEER_ADDRESS, env={"PEERCALL_TURN_SECRET": SECRET})
    assert status == 0 and [c["ok"] for c in report["checks"]] == [True, True, True], report["checks"]


async def test_turn_expired_credentials_are_rejected_by_coturn(coturn: Coturn):
    username, password = turn_credentials(SECRET, "late", -60)
    with pytest.raises(ProbeFailure) as failure:
        await allocate(IceUrl("turn", coturn.host, coturn.port, "udp"), username, password, timeout=2)
    assert failure.value.code == "auth_rejected"
    assert "expired" in failure.value.message
    # The same identity with fresh credentials is allowed: the expiry was the only problem.
    fresh = await allocate(IceUrl("turn", coturn.host, coturn.port, "udp"), *coturn.credentials("late"), timeout=2)
    await fresh.close()


def test_turn_tls_disabled_reports_tls_failing(tmp_path: Path):
    options = coturn_options(tmp_path, tls=False)
    server = start_coturn(tmp_path, options)
    try:
        tls_url = f"turns:127.0.0.1:{options.tls_port}"  # coturn has no-tls: nothing listens there
        status, report = turn_test(*server.urls(), tls_url, "--secret", SECRET, "--bind", PEER_ADDRESS)
    finally:
        stop_coturn(server)
    checks = {c["transport"]: c for c in report["checks"]}
    assert checks["udp"]["ok"] and checks["tcp"]["ok"] and checks["stun"]["ok"]
    assert not checks["tls"]["ok"] and checks["tls"]["reason_code"] == "connection_refused", checks["tls"]
    assert "TLS connection refused" in checks["tls"]["reason"]
    assert status == 1


async def test_turn_generated_production_config_refuses_relay_to_loopback(tmp_path: Path):
    """The SSRF case: `peercall turn config` output, run in coturn, refuses 127.0.0.1 and friends."""
    ports = coturn_options(tmp_path / "ports", tls=False, production=True)
    config = tmp_path / "turnserver.conf"
    command = [sys.executable, "-m", "peercall.cli", "turn", "config", "--secret", SECRET, "-o", str(config)]
    command += ["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--port", str(ports.port)]
    command += ["--min-port", str(ports.min_port), "--max-port", str(ports.max_port)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, timeout=30)
    text = config.read_text()
    assert "allow-loopback-peers" not in text and "allowed-peer-ip" not in text
    server = start_coturn(tmp_path / "run", ports, config_text=text)
    try:
        username, password = server.credentials("probe")
        options = ProbeOptions(username, password, wrong_password(), bind=PEER_ADDRESS, timeout_s=2)
        report = await run_probe(expand([f"turn:127.0.0.1:{server.port}?transport=udp"]), options)
    finally:
        stop_coturn(server)
    outcomes = {n.target: n.outcome for n in report.negative}
    assert outcomes["127.0.0.1"] == "refused" and outcomes["0.0.0.0"] == "refused"
    assert outcomes["169.254.169.254"] == "refused" and outcomes["wrong secret"] == "refused"
    assert report.dangerous == []
    # Even the probe's own loopback echo peer is refused: production relays to no loopback address.
    checks = {c.transport: c for c in report.checks}
    assert checks["stun"].ok and checks["udp"].reason_code == "peer_refused", checks["udp"].reason


async def test_turn_open_relay_is_reported_dangerous(tmp_path: Path):
    """A coturn that relays to loopback (the classic misconfiguration) is flagged, with the target."""
    options = coturn_options(tmp_path, tls=False)
    open_relay = "\n".join(
        [
            f"listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={options.port}",
            f"min-port={options.min_port}\nmax-port={options.max_port}",
            f"use-auth-secret\nstatic-auth-secret={SECRET}\nrealm=open\nallow-loopback-peers\nno-tls\nno-dtls\nno-cli",
        ]
    )
    server = start_coturn(tmp_path / "run", options, config_text=open_relay + "\n")
    try:
        status, report = turn_test(
            f"turn:127.0.0.1:{server.port}?transport=udp", "--secret", SECRET, "--bind", PEER_ADDRESS
        )
    finally:
        stop_coturn(server)
    dangerous = {d["target"] for d in report["dangerous"]}
    assert {"127.0.0.1", "10.0.0.1", "169.254.169.254"} <= dangerous
    assert status == 1 and all(c["ok"] for c in report["checks"])
