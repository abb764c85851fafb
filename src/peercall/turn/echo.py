"""The probe's second endpoint: a local UDP socket that plays the remote peer of a relay.

It punches first (sends to the relayed address, which opens the way through a NAT and
tells the client which address to answer), then echoes every ``ping`` it gets from the
relay. The same socket runs the STUN binding check (aioice transactions).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

from aioice import stun

from peercall.turn.client import Address

PUNCH = b"PCPROBE punch"
PING = b"PCPROBE ping "


class EchoPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.relays: set[Address] = set()
        self._transactions: dict[bytes, stun.Transaction] = {}
        self._punch_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, bind: str | None, family_of: str) -> EchoPeer:
        loop = asyncio.get_running_loop()
        host = bind or ("::" if ":" in family_of else "0.0.0.0")
        _, peer = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return peer

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        source = (str(addr[0]), int(addr[1]))
        if source in self.relays:
            if data.startswith(PING) and self.transport is not None:
                self.transport.sendto(data, source)
            return
        with contextlib.suppress(ValueError):
            message = stun.parse_message(data)
            transaction = self._transactions.get(message.transaction_id)
            if transaction is not None:
                transaction.response_received(message, source)

    def send_stun(self, message: stun.Message, addr: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(bytes(message), addr)

    async def binding(self, server: Address, timeout: float) -> Address:
        """STUN Binding (RFC 8489): our address as the server sees it."""
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        transaction = stun.Transaction(request, server, self)
        self._transactions[request.transaction_id] = transaction
        try:
            response, _ = await asyncio.wait_for(transaction.run(), timeout)
        finally:
            del self._transactions[request.transaction_id]
        mapped = response.attributes.get("XOR-MAPPED-ADDRESS") or response.attributes.get("MAPPED-ADDRESS")
        if not mapped:
            raise ValueError("STUN response without XOR-MAPPED-ADDRESS")
        return str(mapped[0]), int(mapped[1])

    def start_punching(self, relayed: Address, interval_s: float = 0.2) -> None:
        """Send to the relay until stopped (UDP may lose the first ones)."""
        self.relays.add(relayed)

        async def punch() -> None:
            while self.transport is not None:
                self.transport.sendto(PUNCH, relayed)
                await asyncio.sleep(interval_s)

        self._punch_task = asyncio.create_task(punch())

    def stop_punching(self) -> None:
        if self._punch_task is not None:
            self._punch_task.cancel()
            self._punch_task = None

    def close(self) -> None:
        self.stop_punching()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
