"""The Python peer's chat and file protocols without a network: fake channels, real services.

Why: bad input (malformed JSON, oversized frames, duplicates, chunks out of order, a
wrong SHA-256) must give a clear error and leave no partial file, and that is quickest
to prove frame by frame.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

from peercall.peer.chat import Chat
from peercall.peer.data_channels import DATA_CHANNELS, DataHub
from peercall.peer.files import HEADER, SEND_CHUNK, FileTransfers


class FakeChannel(AsyncIOEventEmitter):
    """Just what the services use of an aiortc RTCDataChannel."""

    def __init__(self) -> None:
        super().__init__()
        self.readyState = "open"
        self.bufferedAmount = 0
        self.bufferedAmountLowThreshold = 0
        self.sent: list[str | bytes] = []

    def send(self, data: str | bytes) -> None:
        self.sent.append(data)

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.sent if isinstance(x, str)]


def wire() -> tuple[DataHub, dict[str, FakeChannel]]:
    hub = DataHub()
    channels = {kind: FakeChannel() for kind in DATA_CHANNELS}
    hub.attach("alice", channels)  # type: ignore[arg-type]
    return hub, channels


def test_collab_python_chat_rejects_bad_frames_and_dedupes():
    async def scenario() -> None:
        hub, channels = wire()
        chat = Chat(hub, lambda: "bot")
        chan = channels["chat"]
        for bad in ("{nope", json.dumps({"t": "msg", "id": "x", "ts": 1, "body": {"text": "a" * 20_000}}), b"\x00"):
            chan.emit("message", bad)
        chan.emit("message", json.dumps({"t": "msg", "id": "../x", "ts": 1, "body": {"text": "hi"}}))
        chan.emit("message", json.dumps({"t": "msg", "id": "m1", "ts": 1, "body": {"html": "<b>"}}))
        assert chat.errors == [
            "malformed JSON",
            "frame larger than 16384 bytes",
            "binary frame on the chat channel",
            "bad message id",
            "a chat message without valid text",
        ]
        good = json.dumps({"t": "msg", "id": "m2", "ts": 5, "body": {"text": "hello"}})
        chan.emit("message", good)
        chan.emit("message", good)  # resent after a reconnect: acknowledged again, delivered once
        assert [(m.id, m.sender, m.text) for m in chat.messages] == [("m2", "alice", "hello")]
        assert [f for f in chan.frames() if f["t"] == "ack"] == [{"t": "ack", "id": "m1"}] + [
            {"t": "ack", "id": "m2"}
        ] * 2
        # Our message waits in the outbox until acknowledged; a new channel gets it again.
        mine = chat.send("reply")
        assert chat.pending == 1 and mine.status == "sent"
        fresh = {kind: FakeChannel() for kind in DATA_CHANNELS}
        hub.attach("alice", fresh)  # type: ignore[arg-type]
        fresh["chat"].emit("open")
        assert [f["id"] for f in fresh["chat"].frames() if f["t"] == "msg"] == [mine.id]
        fresh["chat"].emit("message", json.dumps({"t": "ack", "id": mine.id}))
        assert chat.pending == 0 and mine.status == "delivered"

    asyncio.run(scenario())


def offer(transfer_id: str, n: int, size: int) -> str:
    frame = {
        "t": "offer",
        "id": transfer_id,
        "n": n,
        "name": "../../etc/x",
        "size": size,
        "mime": "",
        "chunk": SEND_CHUNK,
    }
    return json.dumps(frame)


def chunk(n: int, index: int, payload: bytes) -> bytes:
    return HEADER.pack(n, index) + payload


def test_collab_python_file_receiver_fails_bad_transfers_and_keeps_good_ones(tmp_path: Path):
    async def scenario() -> None:
        hub, channels = wire()
        files = FileTransfers(hub, lambda: 10_000_000)
        files.directory = tmp_path
        chan = channels["file"]
        data = os.urandom(SEND_CHUNK * 2 + 100)
        parts = [data[:SEND_CHUNK], data[SEND_CHUNK : 2 * SEND_CHUNK], data[2 * SEND_CHUNK :]]

        # Out of order: failed, the sender is told why, no partial file.
        chan.emit("message", offer("t1", 1, len(data)))
        chan.emit("message", chunk(1, 1, parts[1]))
        assert files.transfers["t1"].state == "failed" and files.transfers["t1"].error == "out_of_order"
        assert {"t": "done", "id": "t1", "ok": False, "error": "out_of_order"} in chan.frames()

        # Wrong SHA-256: failed, no file.
        chan.emit("message", offer("t2", 2, len(data)))
        for index, part in enumerate(parts):
            chan.emit("message", chunk(2, index, part))
        chan.emit("message", json.dumps({"t": "end", "id": "t2", "sha256": "0" * 64}))
        assert files.transfers["t2"].state == "failed" and files.transfers["t2"].error == "hash_mismatch"

        # Too large for the room: declined without writing anything.
        chan.emit("message", offer("t3", 3, 20_000_000))
        assert files.transfers["t3"].state == "declined"
        assert {"t": "decline", "id": "t3", "reason": "too_large"} in chan.frames()

        # Garbage: reported, nothing else happens.
        chan.emit("message", "{nope")
        chan.emit("message", b"\x01\x02")
        assert len(files.errors) >= 4

        # A good one: stored under its hash (the offered name is never a path).
        digest = hashlib.sha256(data).hexdigest()
        chan.emit("message", offer("t4", 4, len(data)))
        for index, part in enumerate(parts):
            chan.emit("message", chunk(4, index, part))
        chan.emit("message", json.dumps({"t": "end", "id": "t4", "sha256": digest}))
        received = files.received.get_nowait()
        assert received.id == "t4" and received.path == tmp_path / digest
        assert (tmp_path / digest).read_bytes() == data
        assert sorted(p.name for p in tmp_path.iterdir()) == [digest]

    asyncio.run(scenario())
