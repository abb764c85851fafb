"""Build the RTCIceServer list for one participant.

TURN credentials follow the TURN REST API scheme that coturn implements with
``use-auth-secret``: username ``"<unix expiry>:<identity>"``, password
``base64(HMAC-SHA1(secret, username))``. They expire on their own, so a leaked
credential is useless after ``ttl`` seconds and the server keeps no state.

Several TURN servers (regions) can be configured; a client gets one region's list —
the room's ``turn_region`` setting, else the first region — because every extra server
slows candidate gathering. Each region's URLs follow the robust pattern: STUN, TURN over
UDP, TURN over TCP (same port), TURNS on 443 for firewalls that only pass TLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from peercall.config import Settings

log = logging.getLogger(__name__)
IceTransportPolicy = Literal["all", "relay"]


def turn_credentials(secret: str, identity: str, ttl_s: int, *, now: float | None = None) -> tuple[str, str]:
    """Return (username, password) valid for ``ttl_s`` seconds."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def region_urls(host: str, port: int = 3478, tls_port: int | None = 443) -> list[str]:
    """STUN, TURN/UDP, TURN/TCP and TURNS URLs of one coturn server, UDP first
    (aiortc uses only the first TURN URL)."""
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    urls = [f"stun:{host}:{port}", f"turn:{host}:{port}?transport=udp", f"turn:{host}:{port}?transport=tcp"]
    if tls_port:
        urls.append(f"turns:{host}:{tls_port}?transport=tcp")
    return urls


@dataclass(frozen=True)
class TurnRegion:
    name: str
    urls: tuple[str, ...]
    secret: str

    @property
    def stun_urls(self) -> list[str]:
        return [u for u in self.urls if u.startswith("stun")]

    @property
    def turn_urls(self) -> list[str]:
        return [u for u in self.urls if u.startswith("turn")]


def ice_transport_policy(room_settings: Mapping[str, Any]) -> IceTransportPolicy:
    """``relay`` when the room demands it: peers then never learn each other's addresses."""
    return "relay" if room_settings.get("relay_only") is True else "all"


class IceServerProvider:
    """Turns configured STUN/TURN servers into the list a client passes to RTCPeerConnection."""

    def __init__(
        self,
        stun_urls: list[str],
        turn_urls: list[str],
        turn_secret: str | None,
        ttl_s: int,
        *,
        regions: Sequence[TurnRegion] = (),
    ) -> None:
        if turn_urls and not turn_secret:
            raise ValueError("turn_urls are configured but turn_secret is not")
        self._stun = list(stun_urls)
        self.regions: list[TurnRegion] = []
        if turn_urls and turn_secret:
            self.regions.append(TurnRegion("default", tuple(turn_urls), turn_secret))
        self.regions += list(regions)
        self.ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: Settings) -> IceServerProvider:
        regions = []
        for server in settings.turn_servers:
            secret = server.secret or settings.turn_secret
            if not secret:
                raise ValueError(f"TURN region {server.region!r} has no secret and turn_secret is not set")
            regions.append(
                TurnRegion(server.region, tuple(region_urls(server.host, server.port, server.tls_port)), secret)
            )
        return cls(settings.stun_urls, settings.turn_urls, settings.turn_secret, settings.turn_ttl, regions=regions)

    def region(self, name: str | None = None) -> TurnRegion | None:
        """The named region, else the first one (the default), else None."""
        for region in self.regions:
            if region.name == name:
                return region
        return self.regions[0] if self.regions else None

    def for_identity(self, identity: str, region: str | None = None) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = []
        chosen = self.region(region)
        stun = list(dict.fromkeys(self._stun + (chosen.stun_urls if chosen else [])))
        if stun:
            servers.append({"urls": stun})
        if chosen and chosen.turn_urls:
            username, credential = turn_credentials(chosen.secret, identity, self.ttl_s)
            servers.append({"urls": chosen.turn_urls, "username": username, "credential": credential})
        return servers

    def for_room(
        self, identity: str, room_settings: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], IceTransportPolicy]:
        """ICE servers and transport policy for a member of a room with ``room_settings``."""
        region = room_settings.get("turn_region")
        servers = self.for_identity(identity, region if isinstance(region, str) else None)
        policy = ice_transport_policy(room_settings)
        if policy == "relay" and not self.regions:
            log.warning("a relay-only room has no TURN server configured: its calls cannot connect")
        return servers, policy
