"""File transfers for the Python peer: the browser SDK's protocol (web/sdk/file-wire.js).

JSON control frames (offer, accept{from}, decline, cancel, ack{next}, end{sha256},
done{ok}) and binary chunks with an 8-byte header (u32 transfer number, u32 chunk index,
big-endian). The sender stops while the channel buffers more than ``HIGH_WATER`` bytes;
the receiver writes each chunk straight to disk, hashes incrementally and keeps the
file only when the sender's SHA-256 matches. Received files are named by their SHA-256
in ``directory`` (the offered name is metadata only, never a path).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import secrets
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from aiortc import RTCDataChannel

from .data_channels import DataHub

__all__ = ["FileTransfers", "Transfer", "TransferFailed"]

logger = logging.getLogger(__name__)
HEADER = struct.Struct(">II")
SEND_CHUNK = 64 * 1024 - HEADER.size
MAX_CHUNK = 64 * 1024
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
ACK_EVERY = 16
MAX_OPEN_TRANSFERS = 20
"""Incoming transfers one member may have running at once (more are declined: ``too_many``)."""
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
State = Literal["offered", "transferring", "paused", "complete", "failed", "cancelled", "declined"]
_FINAL = ("complete", "failed", "cancelled", "declined")


class TransferFailed(Exception):
    """The transfer ended without a verified file (``state`` and ``reason`` say why)."""


@dataclass(eq=False)
class Transfer:
    id: str
    direction: Literal["out", "in"]
    identity: str
    name: str
    size: int
    mime: str
    n: int
    chunk: int
    state: State = "offered"
    next: int = 0
    nbytes: int = 0
    """Bytes sent / received so far."""
    sha256: str | None = None
    error: str | None = None
    resumed_from: list[int] = field(default_factory=list)
    """Receiver: the chunk it asked to continue from after each reconnect."""
    path: Path | None = None
    """Sender: the file sent. Receiver: where the verified file is, once complete."""
    done: asyncio.Future[Transfer] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    _hasher: Any = field(default_factory=hashlib.sha256)
    _hashed: int = 0
    _out: IO[bytes] | None = None
    _pump: asyncio.Task[None] | None = None

    @property
    def chunks(self) -> int:
        return math.ceil(self.size / self.chunk)


class FileTransfers:
    """``peer.files``: send files from disk, receive into ``directory`` (or decline)."""

    def __init__(self, hub: DataHub, max_bytes: Callable[[], int]) -> None:
        self._hub = hub
        self._max_bytes = max_bytes
        self.transfers: dict[str, Transfer] = {}
        self.directory: Path | None = None
        """Accept every offer (within the size limit) into this directory; None: decline."""
        self.errors: list[str] = []
        self.received: asyncio.Queue[Transfer] = asyncio.Queue()
        """Verified incoming files, in completion order."""
        hub.register("file", self)

    async def send(self, path: Path, *, to: str | None = None, mime: str = "application/octet-stream") -> Transfer:
        """Offer ``path`` to a member and wait until the receiver verified it; raises :class:`TransferFailed`."""
        identity = to or next(iter(self._hub.identities()), None)
        if identity is None:
            raise TransferFailed("nobody to send the file to")
        size = path.stat().st_size
        if size > self._max_bytes():
            raise TransferFailed(f"files are limited to {self._max_bytes()} bytes in this room")
        n = secrets.randbits(32)
        transfer = Transfer(uuid.uuid4().hex, "out", identity, path.name[:255], size, mime, n, SEND_CHUNK)
        transfer.path = path
        self.transfers[transfer.id] = transfer
        self._send_offer(transfer)
        result = await transfer.done
        if result.state != "complete":
            raise TransferFailed(f"{result.state}: {result.error}")
        return result

    def cancel(self, transfer_id: str) -> None:
        if (t := self.transfers.get(transfer_id)) is not None and t.state not in _FINAL:
            self._control(t, {"t": "cancel", "id": t.id, "reason": "cancelled"})
            self._finish(t, "cancelled", "cancelled")

    # ChannelService
    def on_open(self, identity: str, channel: RTCDataChannel) -> None:
        channel.bufferedAmountLowThreshold = LOW_WATER
        for t in self.transfers.values():
            if t.identity != identity:
                continue
            if t.direction == "out" and t.state == "offered":
                self._send_offer(t)
            elif t.direction == "in" and t.state in ("transferring", "paused"):
                t.state = "transferring"
                t.resumed_from.append(t.next)
                self._control(t, {"t": "accept", "id": t.id, "from": t.next})

    def on_close(self, identity: str) -> None:
        for t in self.transfers.values():
            if t.identity == identity and t.state == "transferring":
                t.state = "paused"
                if t._pump is not None:
                    t._pump.cancel()

    def on_message(self, identity: str, data: str | bytes) -> None:
        try:
            if isinstance(data, str):
                self._on_control(identity, data)
            else:
                self._on_chunk(identity, data)
        except ValueError as exc:
            self.errors.append(str(exc))
            logger.warning("file transfer from %s: %s", identity, exc)

    def _on_control(self, identity: str, text: str) -> None:
        frame = json.loads(text) if len(text) <= 4096 else None
        if not isinstance(frame, dict) or not isinstance(frame.get("id"), str) or not _ID.match(frame["id"]):
            raise ValueError("bad control frame")
        kind, t = frame.get("t"), self.transfers.get(frame["id"])
        if kind == "offer":
            self._on_offer(identity, frame, t)
            return
        if t is None or t.identity != identity or (t.state in _FINAL and kind != "done"):
            return
        if kind == "accept" and t.direction == "out":
            start = frame.get("from")
            if not isinstance(start, int) or not 0 <= start <= min(t._hashed, t.chunks):
                raise ValueError(f"cannot resume from {start!r}")
            t.next, t.state = start, "transferring"
            if t._pump is not None:
                t._pump.cancel()
            t._pump = asyncio.ensure_future(self._pump(t))
        elif kind == "done" and t.direction == "out" and t.state not in _FINAL:
            self._finish(t, "complete" if frame.get("ok") is True else "failed", str(frame.get("error") or "") or None)
        elif kind in ("decline", "cancel"):
            self._finish(t, "declined" if kind == "decline" else "cancelled", str(frame.get("reason", ""))[:200])
        elif kind == "end" and t.direction == "in":
            digest = frame.get("sha256")
            if not isinstance(digest, str) or not _HEX64.match(digest):
                self._fail_in(t, "bad_frame", "bad end frame")
            elif t.next != t.chunks:
                self._fail_in(t, "incomplete", f"ended after {t.next} of {t.chunks} chunks")
            elif t._hasher.hexdigest() != digest:
                self._fail_in(t, "hash_mismatch", "SHA-256 mismatch")
            else:
                self._complete_in(t, digest)

    def _on_offer(self, identity: str, frame: dict[str, Any], known: Transfer | None) -> None:
        if known is not None:
            if known.state in ("transferring", "paused"):
                self._control(known, {"t": "accept", "id": known.id, "from": known.next})
            elif known.state == "complete":
                self._control(known, {"t": "done", "id": known.id, "ok": True})
            return
        n, size, chunk, name = frame.get("n"), frame.get("size"), frame.get("chunk"), frame.get("name")
        if not (isinstance(n, int) and 0 <= n < 2**32 and isinstance(size, int) and size >= 0):
            raise ValueError("bad offer")
        if not (isinstance(chunk, int) and 1024 <= chunk <= MAX_CHUNK and isinstance(name, str) and len(name) <= 255):
            raise ValueError("bad offer")
        mime = str(frame.get("mime", ""))[:255]
        t = Transfer(frame["id"], "in", identity, name, size, mime, n, chunk)
        busy = sum(1 for x in self.transfers.values() if x.identity == identity and x.state == "transferring")
        self.transfers[t.id] = t
        if self.directory is None or size > self._max_bytes() or busy >= MAX_OPEN_TRANSFERS:
            reason = "declined" if self.directory is None else "too_large" if size > self._max_bytes() else "too_many"
            self._control(t, {"t": "decline", "id": t.id, "reason": reason})
            self._finish(t, "declined", reason)
            return
        t.path = self.directory / f"{t.id}.part"  # server-generated name; renamed to its hash when verified
        t._out = open(t.path, "wb")  # noqa: SIM115 - closed by _finish
        t.state = "transferring"
        self._control(t, {"t": "accept", "id": t.id, "from": 0})

    def _on_chunk(self, identity: str, data: bytes) -> None:
        if len(data) <= HEADER.size or len(data) > HEADER.size + MAX_CHUNK:
            raise ValueError("bad chunk frame size")
        n, index = HEADER.unpack_from(data)
        mine = (x for x in self.transfers.values() if x.n == n and x.direction == "in" and x.identity == identity)
        t = next(mine, None)
        if t is None or t.state != "transferring" or t._out is None or index < t.next:
            return
        payload = memoryview(data)[HEADER.size :]
        expected = t.size - index * t.chunk if index == t.chunks - 1 else t.chunk
        if index > t.next:
            self._fail_in(t, "out_of_order", f"chunk {index} arrived, {t.next} expected")
        elif index >= t.chunks or len(payload) != expected:
            self._fail_in(t, "bad_chunk", f"chunk {index} has {len(payload)} bytes")
        else:
            t._out.write(payload)
            t._hasher.update(payload)
            t.next += 1
            t.nbytes += len(payload)
            if t.next % ACK_EVERY == 0 or t.next == t.chunks:
                self._control(t, {"t": "ack", "id": t.id, "next": t.next})

    async def _pump(self, t: Transfer) -> None:
        assert t.path is not None
        channel = self._hub.channel("file", t.identity)
        if channel is None:
            return
        with open(t.path, "rb") as source:
            source.seek(t.next * t.chunk)
            while t.state == "transferring" and t.next < t.chunks and channel.readyState == "open":
                while channel.bufferedAmount > HIGH_WATER:
                    await _drained(channel)
                payload = source.read(t.chunk)
                if t.next == t._hashed:
                    t._hasher.update(payload)
                    t._hashed += 1
                channel.send(HEADER.pack(t.n, t.next) + payload)
                t.next += 1
                t.nbytes = min(t.size, t.next * t.chunk)
                if t.next % ACK_EVERY == 0:
                    await asyncio.sleep(0)  # let the SCTP transport run
        if t.state == "transferring" and t.next >= t.chunks:
            t.sha256 = t._hasher.hexdigest() if t._hashed == t.chunks else None
            channel.send(json.dumps({"t": "end", "id": t.id, "sha256": t.sha256}))

    def _send_offer(self, t: Transfer) -> None:
        offer = {"t": "offer", "id": t.id, "n": t.n, "name": t.name, "size": t.size, "mime": t.mime, "chunk": t.chunk}
        self._control(t, offer)

    def _control(self, t: Transfer, frame: dict[str, Any]) -> None:
        channel = self._hub.channel("file", t.identity)
        if channel is not None:
            channel.send(json.dumps(frame))

    def _fail_in(self, t: Transfer, reason: str, message: str) -> None:
        self.errors.append(f"{t.name}: {message}")
        self._control(t, {"t": "done", "id": t.id, "ok": False, "error": reason})
        self._finish(t, "failed", reason)

    def _complete_in(self, t: Transfer, digest: str) -> None:
        assert t.path is not None and t._out is not None and self.directory is not None
        t._out.close()
        final = self.directory / digest
        os.replace(t.path, final)
        t.path, t.sha256 = final, digest
        self._control(t, {"t": "done", "id": t.id, "ok": True})
        self._finish(t, "complete", None)
        self.received.put_nowait(t)

    def _finish(self, t: Transfer, state: State, error: str | None) -> None:
        t.state, t.error = state, error
        if t._out is not None:
            t._out.close()
            t._out = None
            if state != "complete" and t.path is not None:
                t.path.unlink(missing_ok=True)  # no partial file stays around
        if t._pump is not None and t._pump is not asyncio.current_task():
            t._pump.cancel()
        if not t.done.done():
            t.done.set_result(t)
        logger.info("file %s %s (%s bytes): %s %s", t.direction, t.id, t.size, state, error or "")


async def _drained(channel: RTCDataChannel, timeout: float = 30.0) -> None:
    """Until the channel's buffer drops to its low-water mark (``bufferedamountlow``)."""
    drained: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_low() -> None:
        if not drained.done():
            drained.set_result(None)

    channel.once("bufferedamountlow", on_low)
    await asyncio.wait_for(drained, timeout)
