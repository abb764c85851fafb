"""The generated coturn configuration: hardening directives, denied ranges, no injection."""

import ipaddress
from pathlib import Path

import pytest

from peercall.config import Settings
from peercall.turn.coturn_config import (
    DENIED_PEER_RANGES,
    CoturnConfigError,
    CoturnOptions,
    coturn_range,
    render_coturn_config,
)

SECRET = "s" * 32


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_turn_config_has_every_hardening_directive():
    text = render_coturn_config(
        CoturnOptions(realm="calls.example.com", secret=SECRET, cert=Path("/c"), pkey=Path("/k"))
    )
    lines = _lines(text)
    for directive in (
        "use-auth-secret",
        f"static-auth-secret={SECRET}",
        "realm=calls.example.com",
        "fingerprint",
        "stale-nonce=600",
        "no-cli",
        "no-multicast-peers",
        "no-tcp-relay",
        "no-tlsv1",
        "no-tlsv1_1",
        "no-dtls",
        "user-quota=12",
        "total-quota=1200",
        "listening-port=3478",
        "tls-listening-port=443",
        "min-port=49152",
        "max-port=65535",
        "cert=/c",
        "pkey=/k",
    ):
        assert directive in lines, directive
    assert "allow-loopback-peers" not in text and "allowed-peer-ip" not in text


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "0.0.0.0",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "198.18.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "168.63.129.16",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        "fd00:ec2::254",
        "fe80::1",
        "ff02::1",
    ],
)
def test_turn_config_denies_special_purpose_peer(address: str):
    text = render_coturn_config(CoturnOptions(realm="r", secret=SECRET))
    ip = ipaddress.ip_address(address)
    ranges = [line.split("=", 1)[1] for line in _lines(text) if line.startswith("denied-peer-ip=")]
    covered = False
    for entry in ranges:
        first, _, last = entry.partition("-")
        low, high = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
        covered |= low.version == ip.version and low <= ip <= high  # type: ignore[operator]
    assert covered, f"{address} is not denied"


def test_turn_config_does_not_deny_public_addresses():
    for public in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        ip = ipaddress.ip_address(public)
        assert not any(ip in ipaddress.ip_network(net) for net, _ in DENIED_PEER_RANGES), public


def test_turn_config_ranges_are_coturn_syntax():
    assert coturn_range("10.0.0.0/8") == "10.0.0.0-10.255.255.255"
    assert coturn_range("168.63.129.16/32") == "168.63.129.16"


@pytest.mark.parametrize(
    "field,value",
    [("realm", "evil\nallow-loopback-peers"), ("secret", "a" * 20 + " x"), ("external_ip", "1.2.3.4\nno-auth")],
)
def test_turn_config_refuses_values_that_inject_options(field: str, value: str):
    values = {"realm": "r", "secret": SECRET, field: value}
    with pytest.raises(CoturnConfigError):
        CoturnOptions(**values)  # type: ignore[arg-type]


def test_turn_config_validates_secret_ports_and_tls_pair():
    with pytest.raises(CoturnConfigError):
        CoturnOptions(realm="r", secret="short")
    with pytest.raises(CoturnConfigError):
        CoturnOptions(realm="r", secret=SECRET, min_port=60000, max_port=50000)
    with pytest.raises(CoturnConfigError):
        CoturnOptions(realm="r", secret=SECRET, cert=Path("/c"))
    with pytest.raises(ValueError):
        CoturnOptions(realm="r", secret=SECRET, listening_ips=("not-an-ip",))
    assert "no-tls" in _lines(render_coturn_config(CoturnOptions(realm="r", secret=SECRET)))


def test_turn_config_from_settings_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch):
    settings = Settings(turn_secret=SECRET, turn_realm="eu.example.com", turn_external_ip="203.0.113.7/10.0.0.5")
    text = render_coturn_config(CoturnOptions.from_settings(settings, min_port=50000))
    assert "external-ip=203.0.113.7/10.0.0.5" in text and "min-port=50000" in text
    with pytest.raises(CoturnConfigError):
        CoturnOptions.from_settings(Settings())

    from peercall.cli import main

    monkeypatch.delenv("PEERCALL_TURN_SECRET", raising=False)
    out = tmp_path / "turnserver.conf"
    assert main(["turn", "config", "--secret", SECRET, "--listening-ip", "127.0.0.1", "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    assert "listening-ip=127.0.0.1" in out.read_text()
    assert main(["turn", "config"]) == 2  # no secret anywhere
    assert "turn_secret" in capsys.readouterr().err


def test_turn_config_test_overlay_is_marked():
    text = render_coturn_config(
        CoturnOptions(realm="r", secret=SECRET, test_allow_loopback_peers=True, test_allowed_peer_ips=("127.0.0.2",))
    )
    overlay = text.split("## TEST ONLY")[1]
    assert "allow-loopback-peers" in overlay and "allowed-peer-ip=127.0.0.2" in overlay
