"""A hardened coturn (>= 4.6) configuration that matches this server's TURN settings.

A TURN relay forwards packets to any address a client names, so an open relay is a door
into the operator's own network (SSRF): every special-purpose range is denied as a peer
(:data:`DENIED_PEER_RANGES`, IANA special-purpose registries, RFC 6890), including
``0.0.0.0/8`` (CVE-2020-26262) and the IPv6 forms that embed IPv4 addresses
(IPv4-mapped, NAT64, 6to4, Teredo). Credentials are the TURN REST API scheme
(``use-auth-secret``), so coturn needs no user database.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peercall.config import Settings

# (network, why) — why is written next to each line of the generated file.
DENIED_PEER_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network'; 0.0.0.0 reaches local services (CVE-2020-26262)"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT (RFC 6598); also Alibaba Cloud metadata 100.100.100.200"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local; cloud metadata 169.254.169.254 (AWS, GCP, Azure, OpenStack)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved; 255.255.255.255 broadcast"),
    ("168.63.129.16/32", "Azure platform endpoint (WireServer), a public address"),
    ("::/8", "IPv6 loopback ::1, unspecified ::, IPv4-compatible and IPv4-mapped ::ffff:0:0/96"),
    ("64:ff9b::/96", "NAT64 (RFC 6052): reaches IPv4 addresses, private ones too"),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001::/23", "IETF protocol assignments, Teredo 2001::/32"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4: embeds an IPv4 address"),
    ("fc00::/7", "unique local (private); AWS metadata fd00:ec2::254"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/@+=\-\[\]]+$")


class CoturnConfigError(ValueError):
    """A value that would produce a broken or unsafe coturn configuration."""


def coturn_range(network: str) -> str:
    """coturn wants ``first-last`` address ranges, not CIDR."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return str(net.network_address)
    return f"{net.network_address}-{net.broadcast_address}"


@dataclass(frozen=True)
class CoturnOptions:
    """Everything the generated file depends on. ``test_*`` fields exist for test fixtures only:
    ``peercall turn config`` never sets them."""

    realm: str
    secret: str
    listening_ips: tuple[str, ...] = ()
    relay_ips: tuple[str, ...] = ()
    external_ip: str | None = None
    port: int = 3478
    tls_port: int = 443
    min_port: int = 49152
    max_port: int = 65535
    cert: Path | None = None
    pkey: Path | None = None
    user_quota: int = 12
    total_quota: int = 1200
    max_bps: int = 0
    stale_nonce_s: int = 600
    max_allocate_lifetime_s: int = 3600
    log_file: str | None = None  # None: syslog
    pidfile: Path | None = None
    userdb: Path | None = None
    test_allow_loopback_peers: bool = False
    test_allowed_peer_ips: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("realm", "secret", "external_ip", "log_file"):
            _check_safe(name, getattr(self, name))
        for name in ("cert", "pkey", "pidfile", "userdb"):
            value = getattr(self, name)
            if value is not None:
                _check_safe(name, str(value))
        for ip in (*self.listening_ips, *self.relay_ips, *self.test_allowed_peer_ips):
            ipaddress.ip_address(ip)  # raises ValueError: not an IP address
        if len(self.secret) < 16:
            raise CoturnConfigError("the TURN shared secret must be at least 16 characters")
        if not 1024 <= self.min_port <= self.max_port <= 65535:
            raise CoturnConfigError(f"relay port range {self.min_port}-{self.max_port} is not valid")
        if (self.cert is None) != (self.pkey is None):
            raise CoturnConfigError("give both cert and pkey for TURNS, or neither")

    @property
    def tls(self) -> bool:
        return self.cert is not None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> CoturnOptions:
        if not settings.turn_secret:
            raise CoturnConfigError("turn_secret (PEERCALL_TURN_SECRET) is not set")
        values: dict[str, object] = {
            "realm": settings.turn_realm,
            "secret": settings.turn_secret,
            "listening_ips": tuple(settings.turn_listening_ips),
            "relay_ips": tuple(settings.turn_relay_ips),
            "external_ip": settings.turn_external_ip,
            "port": settings.turn_port,
            "tls_port": settings.turn_tls_port,
            "min_port": settings.turn_min_port,
            "max_port": settings.turn_max_port,
            "cert": settings.turn_cert,
            "pkey": settings.turn_pkey,
            "user_quota": settings.turn_user_quota,
            "total_quota": settings.turn_total_quota,
            "max_bps": settings.turn_max_bps,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


def _check_safe(name: str, value: str | None) -> None:
    # One option per line: a newline or a space in a value could smuggle in another option.
    if value is not None and not _SAFE_VALUE.match(value):
        raise CoturnConfigError(f"{name} contains characters not allowed in a coturn config value")


def render_coturn_config(options: CoturnOptions, *, now: datetime.datetime | None = None) -> str:
    """The text of ``turnserver.conf``; deterministic apart from the header date."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%d")
    lines = [
        f"# coturn configuration generated by `peercall turn config` on {stamp}.",
        "# Run: turnserver -c /etc/turnserver.conf   (see docs/turn.md). Contains the shared secret: keep it 0600.",
        "",
        "## Listening",
        f"listening-port={options.port}",
    ]
    lines += [f"listening-ip={ip}" for ip in options.listening_ips]
    lines += [f"relay-ip={ip}" for ip in options.relay_ips]
    if options.external_ip:
        lines.append(f"external-ip={options.external_ip}")
    lines += [f"min-port={options.min_port}", f"max-port={options.max_port}", ""]
    lines.append("## TLS (TURNS for the strictest firewalls); TLS 1.2+, no DTLS (browsers do not use it for TURN)")
    if options.tls:
        lines += [f"tls-listening-port={options.tls_port}", f"cert={options.cert}", f"pkey={options.pkey}"]
        lines += ["no-tlsv1", "no-tlsv1_1"]
    else:
        lines.append("no-tls")
    lines += ["no-dtls", ""]
    lines += [
        "## Authentication: TURN REST API credentials issued by peercall (same secret as PEERCALL_TURN_SECRET)",
        "use-auth-secret",
        f"static-auth-secret={options.secret}",
        f"realm={options.realm}",
        "fingerprint",
        f"stale-nonce={options.stale_nonce_s}",
        f"max-allocate-lifetime={options.max_allocate_lifetime_s}",
        "",
        "## Abuse limits",
        f"user-quota={options.user_quota}",
        f"total-quota={options.total_quota}",
    ]
    if options.max_bps:
        lines.append(f"max-bps={options.max_bps}")
    lines += [
        "# WebRTC relays UDP only; TCP relays (RFC 6062) would reach TCP services",
        "no-tcp-relay",
        "no-multicast-peers",
        "# NAT behaviour discovery is not needed and amplifies; do not advertise the version",
        "no-rfc5780",
        "no-software-attribute",
        "no-cli",
        "",
        "## Peers a relay may never reach (SSRF): loopback, private, link-local, CGNAT, cloud metadata …",
    ]
    lines += list(_denied_lines())
    if options.test_allow_loopback_peers or options.test_allowed_peer_ips:
        lines += ["", "## TEST ONLY — never in production"]
        if options.test_allow_loopback_peers:
            lines.append("allow-loopback-peers")
        lines += [f"allowed-peer-ip={ip}" for ip in options.test_allowed_peer_ips]
    lines += ["", "## Operation"]
    lines += [f"log-file={options.log_file}", "simple-log"] if options.log_file else ["syslog"]
    if options.pidfile:
        lines.append(f"pidfile={options.pidfile}")
    if options.userdb:
        lines.append(f"userdb={options.userdb}")
    return "\n".join(lines) + "\n"


def _denied_lines() -> Iterable[str]:
    for network, why in DENIED_PEER_RANGES:
        yield f"# {network}: {why}"
        yield f"denied-peer-ip={coturn_range(network)}"
