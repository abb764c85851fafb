"""The generated production coturn config refuses to relay to every special-purpose
address (the SSRF-into-the-operator's-network case), proven against a real coturn.

Control: the same generator with the test overlay (one allowed loopback peer) relays real
data to that peer, so the refusals are the deny rules at work and not a broken relay."""

from __future__ import annotations

from pathlib import Path

from aioice import stun

from peercall.testing.coturn import PEER_ADDRESS, coturn_options, start_coturn, stop_coturn
from peercall.turn.client import allocate
from peercall.turn.coturn_config import render_coturn_config
from peercall.turn.probe import ProbeOptions, run_probe
from peercall.turn.urls import expand

# One address in every special-purpose IPv4 range the issue and RFC 6890 name.
SPECIAL = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback (end of 127/8)",
    "0.0.0.0": "unspecified (CVE-2020-26262)",
    "10.1.2.3": "private 10/8",
    "172.16.0.1": "private 172.16/12",
    "192.168.1.1": "private 192.168/16",
    "100.64.0.1": "carrier-grade NAT",
    "169.254.169.254": "cloud metadata",
    "192.0.0.1": "IETF protocol assignments",
    "192.0.2.1": "TEST-NET-1",
    "198.18.0.1": "benchmarking",
    "198.51.100.1": "TEST-NET-2",
    "203.0.113.1": "TEST-NET-3",
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
}


async def permission_outcomes(url: str, username: str, password: str, targets: list[str]) -> dict[str, str]:
    ice_url = next(u for u in expand([url]) if u.transport == "udp" and u.scheme == "turn")
    allocation = await allocate(ice_url, username, password, timeout=3, bind=PEER_ADDRESS)
    outcomes = {}
    try:
        for ip in targets:
            try:
                await allocation.create_permission(ip, 3)
                outcomes[ip] = "granted"
            except stun.TransactionFailed as exc:
                outcomes[ip] = f"refused {exc.response.error_code}"
            except (TimeoutError, stun.TransactionTimeout):
                outcomes[ip] = "no answer"
    finally:
        await allocation.close()
    return outcomes


async def test_security_coturn_production_config_denies_special_peers(tmp_path: Path):
    production = coturn_options(tmp_path / "prod", tls=False, production=True)
    text = render_coturn_config(production)
    assert "allow-loopback-peers" not in text and "allowed-peer-ip" not in text
    for cidr in ("127.0.0.0-127.255.255.255", "10.0.0.0-10.255.255.255", "169.254.0.0-169.254.255.255"):
        assert f"denied-peer-ip={cidr}" in text, cidr
    server = start_coturn(tmp_path / "prod-run", production)
    try:
        user, password = server.credentials("security")
        url = f"turn:127.0.0.1:{server.port}?transport=udp"
        refused = await permission_outcomes(url, user, password, [*SPECIAL, PEER_ADDRESS])
    finally:
        stop_coturn(server)
    assert all(outcome.startswith("refused 403") for outcome in refused.values()), refused

    # Control: the test overlay allows exactly PEER_ADDRESS; data really flows to it, and
    # everything else stays refused.
    overlay = coturn_options(tmp_path / "test", tls=False)
    server = start_coturn(tmp_path / "test-run", overlay)
    try:
        user, password = server.credentials("security")
        url = f"turn:127.0.0.1:{server.port}?transport=udp"
        control = await permission_outcomes(url, user, password, ["127.0.0.1", "10.1.2.3", "169.254.169.254"])
        report = await run_probe(expand([url]), ProbeOptions(user, password, bind=PEER_ADDRESS, timeout_s=3))
    finally:
        stop_coturn(server)
    assert all(outcome.startswith("refused 403") for outcome in control.values()), control
    [udp] = [c for c in report.checks if c.transport == "udp"]
    assert udp.ok and udp.rtt_ms is not None, udp.reason  # bytes went client → relay → peer → back
    print(
        f"\nsecurity TURN: production config refused {len(refused)} special peers (403); "
        f"control relayed to {PEER_ADDRESS} with rtt {udp.rtt_ms} ms"
    )
