"""STUN and TURN URIs (RFC 7064, RFC 7065) and the check each one stands for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["stun", "stuns", "turn", "turns"]
CheckTransport = Literal["stun", "udp", "tcp", "tls"]
"""What a check proves: a STUN binding, or a TURN relay over UDP, TCP or TLS."""

_URI = re.compile(
    r"^(?P<scheme>stuns?|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?$"
)
_DEFAULT_PORTS = {"stun": 3478, "turn": 3478, "stuns": 5349, "turns": 5349}


@dataclass(frozen=True)
class IceUrl:
    scheme: Scheme
    host: str  # without IPv6 brackets
    port: int
    transport: Literal["udp", "tcp"]

    @classmethod
    def parse(cls, text: str) -> IceUrl:
        match = _URI.match(text.strip())
        if not match:
            raise ValueError(f"not a STUN/TURN URL: {text!r} (e.g. turn:turn.example.com:3478?transport=udp)")
        scheme: Scheme = match["scheme"]  # type: ignore[assignment]
        port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[scheme]
        if not 0 < port < 65536:
            raise ValueError(f"port out of range in {text!r}")
        secure = scheme.endswith("s")
        transport = match["transport"] or ("tcp" if secure else "udp")
        if secure and transport != "tcp":
            raise ValueError(f"{scheme}: runs over TLS, i.e. TCP (DTLS is not supported): {text!r}")
        if scheme.startswith("stun") and match["transport"]:
            raise ValueError(f"stun URLs take no transport: {text!r}")
        return cls(scheme, match["host"].strip("[]"), port, transport)  # type: ignore[arg-type]

    @property
    def check(self) -> CheckTransport:
        if self.scheme == "stun":
            return "stun"
        if self.scheme in ("turns", "stuns"):
            return "tls"
        return self.transport

    @property
    def is_turn(self) -> bool:
        return self.scheme.startswith("turn")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = f"?transport={self.transport}" if self.is_turn else ""
        return f"{self.scheme}:{host}:{self.port}{suffix}"


def expand(urls: list[str]) -> list[IceUrl]:
    """Parse URLs; a ``turn:`` URL without ``?transport`` stands for both UDP and TCP, as in
    browsers that try both, and the first TURN server also answers the STUN check when no
    ``stun:`` URL is given (coturn serves STUN on its TURN port)."""
    parsed: list[IceUrl] = []
    for text in urls:
        url = IceUrl.parse(text)
        if url.scheme == "stuns":
            raise ValueError(f"stuns: is not supported by browsers; use stun: or turns: ({text!r})")
        if url.scheme == "turn" and "transport=" not in text:
            parsed += [url, IceUrl("turn", url.host, url.port, "tcp")]
        else:
            parsed.append(url)
    if parsed and not any(u.check == "stun" for u in parsed):
        first = next(u for u in parsed if u.is_turn)
        if first.scheme == "turn":
            parsed.insert(0, IceUrl("stun", first.host, first.port, "udp"))
    return list(dict.fromkeys(parsed))
