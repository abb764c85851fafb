"""Where webhooks may be sent: not into the operator's own network (SSRF).

Refusals of a well-formed URL by this server's policy (plain http, a private or
unresolvable host) are ``webhook_url_forbidden`` (403); a malformed one is
``invalid_webhook_url`` (422; the OpenAPI pattern already describes the shape).

A webhook URL is chosen by whoever holds an API key; without this guard, "deliver to
http://169.254.169.254/" or "http://10.0.0.5:6379/" would make the server probe its own
network. Checked when an endpoint is created *and* before every delivery (the name may
resolve elsewhere later: DNS rebinding). A name that resolves to several addresses must
have only public ones.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from peercall.errors import PeercallError


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse_url(url: str, *, allow_http: bool) -> tuple[str, int]:
    """(host, port) of a webhook URL, or a clear refusal."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise PeercallError("invalid_webhook_url", "a webhook URL is https://host[:port]/path, without user:password")
    if parts.scheme == "http" and not allow_http:
        raise PeercallError("webhook_url_forbidden", "webhook URLs must use https on this server")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PeercallError("webhook_url_forbidden", "webhook URL has an invalid port") from None
    return parts.hostname, port


async def check_destination(url: str, *, allow_http: bool, allow_private: bool) -> None:
    """Refuse a URL whose host resolves to a private, loopback or link-local address."""
    host, port = parse_url(url, allow_http=allow_http)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # UnicodeError: not a valid DNS name (e.g. a label over 63)
        raise PeercallError("webhook_url_forbidden", f"webhook host {host[:100]!r} does not resolve") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise PeercallError("webhook_url_forbidden", f"webhook host {host!r} resolves to a private or local address")
