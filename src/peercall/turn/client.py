"""A TURN allocation over UDP, TCP or TLS, built on aioice's TURN client protocol.

aioice's ``create_turn_endpoint`` hides the inner protocol, binds no local address and
gives no timings, so the probe builds the same protocol objects itself: it can then
time each step, bind the probe's sockets to a chosen address, send CreatePermission
requests for the negative probes (``TurnClientMixin.request_with_retry``) and map each
error to a reason. Message encoding, authentication (long-term credentials, nonce
refresh) and channel binding are aioice's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from aioice import stun
from aioice.turn import TurnClientTcpProtocol, TurnClientUdpProtocol

from peercall.turn.failures import STUN_ERRORS, ProbeFailure
from peercall.turn.tls import TlsInfo, classify, fetch_unverified, info_from_transport
from peercall.turn.urls import IceUrl

Address = tuple[str, int]
LIFETIME_S = 120  # the probe's allocations are short-lived; deleted when done anyway


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def stun_error(exc: stun.TransactionFailed) -> str:
    code = exc.response.error_code or 0
    text = exc.response.attributes.get("ERROR-CODE", (code, ""))[1] or STUN_ERRORS.get(code, "")
    return f"{code} {text}".strip()


async def resolve(url: IceUrl, timeout: float) -> Address:
    loop = asyncio.get_running_loop()
    kind = socket.SOCK_DGRAM if url.transport == "udp" else socket.SOCK_STREAM
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(url.host, url.port, type=kind), timeout)
    except (OSError, TimeoutError) as exc:
        raise ProbeFailure("dns", f"cannot resolve {url.host!r}: {exc}") from None
    sockaddr = infos[0][4]
    return str(sockaddr[0]), int(sockaddr[1])


class Inbox(asyncio.DatagramProtocol):
    """Receives what the relay forwards to the client (from aioice's TURN protocol)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue(maxsize=256)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait((data, (str(addr[0]), int(addr[1]))))


TurnProtocol = TurnClientUdpProtocol | TurnClientTcpProtocol


@dataclass
class Allocation:
    url: IceUrl
    server: Address
    protocol: TurnProtocol
    relayed: Address
    mapped: Address
    connect_ms: float
    allocate_ms: float
    tls: TlsInfo | None = None
    inbox: Inbox = field(default_factory=Inbox)

    async def create_permission(self, ip: str, timeout: float) -> None:
        """RFC 8656 §10. Raises aioice ``TransactionFailed`` (e.g. 403) or ``TimeoutError``."""
        request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
        request.attributes["XOR-PEER-ADDRESS"] = (ip, 0)
        await asyncio.wait_for(self.protocol.request_with_retry(request), timeout)

    async def send(self, data: bytes, peer: Address, timeout: float) -> None:
        """Send through the relay on a channel (ChannelBind installs the permission)."""
        await asyncio.wait_for(self.protocol.send_data(data, peer), timeout)

    async def close(self) -> None:
        """Delete the allocation (Refresh lifetime 0), without waiting for a dead server."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.protocol.delete(), 1.0)
        self.protocol.transport.close()


async def allocate(
    url: IceUrl,
    username: str,
    password: str,
    *,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    bind: str | None = None,
) -> Allocation:
    """Connect to the TURN server and allocate a UDP relay; raises :class:`ProbeFailure`."""
    server = await resolve(url, timeout)
    loop = asyncio.get_running_loop()
    local = (bind, 0) if bind else None
    start = time.perf_counter()
    protocol: TurnProtocol
    tls_info: TlsInfo | None = None
    try:
        if url.transport == "udp":
            _, protocol = await loop.create_datagram_endpoint(
                lambda: TurnClientUdpProtocol(server, username, password, LIFETIME_S, 500),
                remote_addr=server,
                local_addr=local,
            )
        else:
            secure = url.check == "tls"
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: TurnClientTcpProtocol(server, username, password, LIFETIME_S, 500),
                    host=server[0],
                    port=server[1],
                    ssl=(ssl_context or ssl.create_default_context()) if secure else None,
                    server_hostname=url.host if secure else None,
                    local_addr=local,
                ),
                timeout,
            )
            if secure:
                tls_info = info_from_transport(protocol.transport, url.host)
    except ssl.SSLError as exc:
        seen = await fetch_unverified(server[0], server[1], url.host, timeout)
        raise classify(exc, url.host, seen) from None
    except TimeoutError:
        raise ProbeFailure("timeout", f"no {url.transport.upper()} connection to {server[0]}:{server[1]}") from None
    except ConnectionRefusedError:
        what = "TLS" if url.check == "tls" else url.transport.upper()
        raise ProbeFailure("connection_refused", f"{what} connection refused by {server[0]}:{server[1]}") from None
    except OSError as exc:
        raise ProbeFailure("error", f"cannot reach {server[0]}:{server[1]}: {exc.strerror or exc}") from None
    connect_ms = elapsed_ms(start)
    try:
        relayed = await asyncio.wait_for(protocol.connect(), timeout)
    except BaseException as exc:
        protocol.transport.close()
        raise _allocate_failure(exc, url, username) from None
    allocation = Allocation(url, server, protocol, relayed, protocol.mapped_address or ("", 0), connect_ms, 0.0)
    allocation.allocate_ms = elapsed_ms(start)
    allocation.tls = tls_info
    protocol.receiver = allocation.inbox
    return allocation


def _allocate_failure(exc: BaseException, url: IceUrl, username: str) -> BaseException:
    if isinstance(exc, stun.TransactionFailed):
        code = exc.response.error_code
        if code in (401, 441):
            return ProbeFailure("auth_rejected", f"auth rejected ({stun_error(exc)}){_expiry_hint(username)}")
        return ProbeFailure("allocation_refused", f"allocation refused ({stun_error(exc)})")
    if isinstance(exc, TimeoutError | stun.TransactionTimeout):
        return ProbeFailure("timeout", f"no answer to Allocate over {url.transport.upper()}")
    if isinstance(exc, ConnectionError):
        return ProbeFailure("error", f"connection lost during Allocate: {exc}")
    return exc


def _expiry_hint(username: str) -> str:
    """TURN REST usernames start with their expiry time: say so when it has passed."""
    head = username.split(":", 1)[0]
    if head.isdigit() and int(head) < time.time():
        return f"; the credentials expired {int(time.time()) - int(head)} s ago"
    return ""
