"""``peercall turn test``: prove each transport of a TURN server really relays data.

Per URL: a STUN binding, or a TURN allocation whose relay carries data from a second
local endpoint (:class:`EchoPeer`) to the client and back (timed). Per server, negative
probes: permissions towards addresses a relay must never reach, and an allocation with
a wrong secret. Negative probes only *ask* for a permission; no packet is ever sent to
the target address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from aioice import stun

from peercall.turn.client import Allocation, allocate, elapsed_ms, resolve, stun_error
from peercall.turn.echo import PING, PUNCH, EchoPeer
from peercall.turn.failures import ProbeFailure, ReasonCode
from peercall.turn.report import Check, Credential, NegativeProbe, Outcome, ProbeReport
from peercall.turn.tls import client_context
from peercall.turn.urls import IceUrl

# Addresses a TURN relay must refuse: (address, why). IPv4 only: the probe's relay is IPv4.
NEGATIVE_TARGETS: tuple[tuple[str, str], ...] = (
    ("127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified, reaches local services (CVE-2020-26262)"),
    ("10.0.0.1", "private network"),
    ("192.168.1.1", "private network"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("169.254.169.254", "cloud metadata service"),
)


@dataclass(frozen=True)
class ProbeOptions:
    username: str
    password: str
    wrong_password: str | None = None  # for the wrong-secret probe; None: skip it
    ca_file: Path | None = None
    bind: str | None = None  # local address of the probe's sockets (tests: 127.0.0.2)
    timeout_s: float = 5.0
    pings: int = 3
    negative: bool = True


async def run_probe(urls: list[IceUrl], options: ProbeOptions) -> ProbeReport:
    """Run every check concurrently; negative probes reuse the first live allocation per server."""
    start = time.perf_counter()
    context = client_context(options.ca_file)
    results = await asyncio.gather(*(_check(url, options, context) for url in urls))
    negative: list[NegativeProbe] = []
    try:
        if options.negative:
            negative = await _negative_probes(urls, [a for _, a in results if a is not None], options)
    finally:
        await asyncio.gather(*(a.close() for _, a in results if a is not None))
    head = options.username.split(":", 1)[0]
    credential = Credential(options.username, int(head) if head.isdigit() else None)
    return ProbeReport([c for c, _ in results], negative, credential, elapsed_ms(start))


async def _check(url: IceUrl, options: ProbeOptions, context: object) -> tuple[Check, Allocation | None]:
    check = Check(transport=url.check, url=str(url))
    allocation: Allocation | None = None
    try:
        if url.check == "stun":
            await _stun_check(url, options, check)
        else:
            allocation = await allocate(
                url,
                options.username,
                options.password,
                timeout=options.timeout_s,
                ssl_context=context,  # type: ignore[arg-type]
                bind=options.bind,
            )
            await _relay_check(allocation, options, check)
        check.ok = True
    except ProbeFailure as failure:
        check.reason, check.reason_code = failure.message, failure.code
    except Exception as exc:  # a probe must report, not crash: keep the type for the operator
        check.reason, check.reason_code = f"{exc.__class__.__name__}: {exc}", "error"
    return check, allocation


async def _stun_check(url: IceUrl, options: ProbeOptions, check: Check) -> None:
    server = await resolve(url, options.timeout_s)
    peer = await EchoPeer.open(options.bind, server[0])
    try:
        start = time.perf_counter()
        mapped = await peer.binding(server, options.timeout_s)
        check.rtt_ms = elapsed_ms(start)
        check.mapped_address = f"{mapped[0]}:{mapped[1]}"
    except TimeoutError:
        raise ProbeFailure("timeout", f"no answer to STUN Binding from {server[0]}:{server[1]}") from None
    except stun.TransactionFailed as exc:
        raise ProbeFailure("error", f"STUN Binding failed ({stun_error(exc)})") from None
    finally:
        peer.close()


async def _relay_check(allocation: Allocation, options: ProbeOptions, check: Check) -> None:
    check.connect_ms, check.allocate_ms, check.tls = allocation.connect_ms, allocation.allocate_ms, allocation.tls
    check.relayed_address = f"{allocation.relayed[0]}:{allocation.relayed[1]}"
    check.mapped_address = f"{allocation.mapped[0]}:{allocation.mapped[1]}"
    if allocation.tls is not None:
        check.warnings += allocation.tls.warnings()
    _check_relayed_address(allocation)
    peer = await EchoPeer.open(options.bind, allocation.relayed[0])
    try:
        target = (allocation.mapped[0], peer.port)
        try:
            await allocation.send(b"PCPROBE open", target, options.timeout_s)
        except stun.TransactionFailed as exc:
            code: ReasonCode = "peer_refused" if exc.response.error_code == 403 else "allocation_refused"
            raise ProbeFailure(code, f"the server refuses to relay to {target[0]} ({stun_error(exc)})") from None
        except TimeoutError:
            raise ProbeFailure("timeout", "no answer to ChannelBind") from None
        peer.start_punching(allocation.relayed)
        try:
            source = await _receive(allocation, PUNCH, options.timeout_s)
        except TimeoutError:
            raise ProbeFailure(
                "relay_blocked",
                f"no data came through the relay {check.relayed_address} within {options.timeout_s:g} s: is UDP to "
                "the relay port range (coturn min-port..max-port) open in the server's firewall?",
            ) from None
        finally:
            peer.stop_punching()
        rtts = []
        for n in range(options.pings):
            payload = PING + str(n).encode()
            start = time.perf_counter()
            await allocation.send(payload, source, options.timeout_s)
            try:
                await _receive(allocation, payload, options.timeout_s)
            except TimeoutError:
                raise ProbeFailure("relay_blocked", "the relay stopped carrying data back to the client") from None
            rtts.append(elapsed_ms(start))
        check.rtt_ms = round(statistics.median(rtts), 2)
    finally:
        peer.close()


def _check_relayed_address(allocation: Allocation) -> None:
    """A private relayed address on a server reached at a public one cannot work for remote peers."""
    relayed = ipaddress.ip_address(allocation.relayed[0])
    server = ipaddress.ip_address(allocation.server[0])
    if relayed.is_unspecified or (server.is_global and not relayed.is_global):
        raise ProbeFailure(
            "relay_address_private",
            f"relayed address {relayed} is not public while the server is reached at {server}: "
            "coturn's external-ip is not set (use external-ip=PUBLIC/PRIVATE behind NAT)",
        )


async def _receive(allocation: Allocation, payload: bytes, timeout: float) -> tuple[str, int]:
    async def wait() -> tuple[str, int]:
        while True:
            data, source = await allocation.inbox.queue.get()
            if data == payload:
                return source

    return await asyncio.wait_for(wait(), timeout)


async def _negative_probes(urls: list[IceUrl], live: list[Allocation], options: ProbeOptions) -> list[NegativeProbe]:
    """Per server (host): wrong secret must be rejected, special addresses must be refused."""
    order = {"udp": 0, "tcp": 1, "tls": 2}
    jobs = []
    for host in dict.fromkeys(u.host for u in urls if u.is_turn):
        candidates = sorted((a for a in live if a.url.host == host), key=lambda a: order[a.url.check])
        if candidates:
            jobs += [_permission_probe(candidates[0], ip, why, options) for ip, why in NEGATIVE_TARGETS]
        first = min((u for u in urls if u.is_turn and u.host == host), key=lambda u: order[u.check])
        if options.wrong_password is not None:
            jobs.append(_wrong_secret_probe(first, options))
    return list(await asyncio.gather(*jobs))


async def _permission_probe(allocation: Allocation, ip: str, why: str, options: ProbeOptions) -> NegativeProbe:
    server = str(allocation.url)
    try:
        await allocation.create_permission(ip, options.timeout_s)
    except stun.TransactionFailed as exc:
        return NegativeProbe("relay", server, ip, "refused", f"{why}: {stun_error(exc)}")
    except (TimeoutError, stun.TransactionTimeout):
        return NegativeProbe("relay", server, ip, "inconclusive", f"{why}: no answer to CreatePermission")
    return NegativeProbe("relay", server, ip, "relayed", f"{why}: permission granted — add denied-peer-ip for it")


async def _wrong_secret_probe(url: IceUrl, options: ProbeOptions) -> NegativeProbe:
    assert options.wrong_password is not None
    try:
        allocation = await allocate(
            url,
            options.username,
            options.wrong_password,
            timeout=options.timeout_s,
            ssl_context=client_context(options.ca_file),
            bind=options.bind,
        )
    except ProbeFailure as failure:
        outcome: Outcome = "refused" if failure.code == "auth_rejected" else "inconclusive"
        return NegativeProbe("auth", str(url), "wrong secret", outcome, failure.message)
    await allocation.close()
    return NegativeProbe("auth", str(url), "wrong secret", "relayed", "allocation granted with a wrong secret")


def wrong_password() -> str:
    """A password no server can expect: the HMAC of a random secret has this shape."""
    return secrets.token_urlsafe(20)
