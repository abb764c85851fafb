"""TURNS failure reasons against a local TLS listener (no coturn needed: the handshake fails first)."""

import asyncio
import ssl
from pathlib import Path

import pytest

from peercall.testing.coturn import make_test_ca
from peercall.turn.client import allocate
from peercall.turn.failures import ProbeFailure
from peercall.turn.tls import client_context
from peercall.turn.urls import IceUrl


async def _tls_listener(tmp: Path, names: tuple[str, ...], ips: tuple[str, ...]):
    files = make_test_ca(tmp, names, ips)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    return server, int(server.sockets[0].getsockname()[1]), files


async def _reason(url: IceUrl, ca: Path | None) -> ProbeFailure:
    with pytest.raises(ProbeFailure) as info:
        await allocate(url, "u", "p", timeout=2, ssl_context=client_context(ca))
    return info.value


async def test_turn_tls_untrusted_certificate_is_reported_with_what_it_is(tmp_path: Path):
    server, port, _ = await _tls_listener(tmp_path, ("localhost",), ("127.0.0.1",))
    async with server:
        failure = await _reason(IceUrl("turns", "127.0.0.1", port, "tcp"), None)
    assert failure.code == "tls_certificate"
    assert "issuer unknown" in failure.message and "peercall test CA" in failure.message


async def test_turn_tls_wrong_name_is_reported(tmp_path: Path):
    server, port, files = await _tls_listener(tmp_path, ("turn.example.test",), ())
    async with server:
        failure = await _reason(IceUrl("turns", "127.0.0.1", port, "tcp"), files.ca_cert)
    assert failure.code == "tls_name", failure.message
    assert "not valid for '127.0.0.1'" in failure.message and "turn.example.test" in failure.message


async def test_turn_tls_refused_and_unresolvable(tmp_path: Path):
    from peercall.testing.coturn import free_udp_tcp_port

    failure = await _reason(IceUrl("turns", "127.0.0.1", free_udp_tcp_port(), "tcp"), None)
    assert failure.code == "connection_refused" and "TLS" in failure.message
    failure = await _reason(IceUrl("turns", "no-such-host.invalid", 443, "tcp"), None)
    assert failure.code == "dns"
