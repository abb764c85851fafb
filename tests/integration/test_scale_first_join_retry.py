"""A join refused *for now* (the node is full, draining or without its Redis for a moment,
the address at its socket limit) is tried again by the SDKs instead of failing the user's
click: a real node limited to one socket (or one per address) refuses a second peer until
the first leaves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from peercall.peer import JoinRejected, Peer
from peercall.peer.reconnect import NO_RECONNECT
from peercall.testing import start_server, stop_server


@pytest.mark.parametrize(
    ("limit", "code"),
    [("PEERCALL_MAX_CONNECTIONS", "server_busy"), ("PEERCALL_MAX_CONNECTIONS_PER_IP", "too_many_connections")],
)
async def test_scale_python_peer_joins_once_a_full_node_has_room(tmp_path: Path, limit: str, code: str) -> None:
    server = start_server(tmp_path, extra_env={limit: "1"})
    try:
        room = server.create_room()
        alice = await Peer.join(server.base_url, server.token(room, "alice")["token"], video=False, audio=False)
        with pytest.raises(JoinRejected) as refused:  # the caller's choice: no retries at all
            await Peer.join(
                server.base_url, server.token(room, "bob")["token"], video=False, audio=False, reconnect=NO_RECONNECT
            )
        assert refused.value.code == code
        started = time.monotonic()
        bob_joining = asyncio.create_task(
            Peer.join(server.base_url, server.token(room, "bob")["token"], video=False, audio=False)
        )
        await asyncio.sleep(1.5)  # refused a few times meanwhile
        assert not bob_joining.done()
        await alice.leave()
        bob = await asyncio.wait_for(bob_joining, 10)
        try:
            assert bob.peer_id and time.monotonic() - started >= 1.5
        finally:
            await bob.leave()
        with server.api() as api:
            metrics = api.get("/metrics").text
        refusals = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith(f'peercall_signaling_errors_total{{code="{code}"}}')
        )
        assert refusals >= 3  # the NO_RECONNECT one, then the retries while the node was full
    finally:
        stop_server(server)
