"""In-call chat for the Python peer: the browser SDK's protocol (web/sdk/reliable.js, chat.js).

Exactly-once delivery across replaced connections: each message has an id and stays in a
per-member outbox until acknowledged; a reopened channel gets the outbox again and the
receiver drops ids it has seen. Frames: ``{"t":"msg","id","ts","body":{"text"}}``,
``{"t":"ack","id"}``, ``{"t":"eph","body":{"typing"}}`` (docs/collab.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiortc import RTCDataChannel

from .data_channels import DataHub

__all__ = ["MAX_CHAT_TEXT", "Chat", "ChatMessage"]

logger = logging.getLogger(__name__)
MAX_CHAT_TEXT = 4000
MAX_FRAME_BYTES = 16 * 1024
MAX_QUEUE = 500
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class ChatMessage:
    id: str
    ts: int
    """Sender's clock, ms since the epoch."""
    sender: str
    """The sender's identity."""
    text: str
    mine: bool
    status: Literal["queued", "sent", "delivered"] = "sent"


class Chat:
    """``peer.chat``: send, receive, delivery receipts; same wire format as the browser."""

    def __init__(
        self, hub: DataHub, self_identity: Callable[[], str], archive: Callable[[ChatMessage], None] | None = None
    ) -> None:
        self._hub = hub
        self._self_identity = self_identity
        self._archive = archive
        self.messages: list[ChatMessage] = []
        self.errors: list[str] = []
        """Why inbound frames were rejected (bad JSON, too large, …); the call goes on."""
        self._outbox: dict[str, OrderedDict[str, dict[str, Any]]] = {}
        self._orphans: list[dict[str, Any]] = []
        self._seen: dict[str, OrderedDict[str, None]] = {}
        self._mine: dict[str, ChatMessage] = {}
        self._changed = asyncio.Event()
        hub.register("chat", self)

    def send(self, text: str) -> ChatMessage:
        """Send to every member; queued for members whose channel is down."""
        if not text.strip() or len(text) > MAX_CHAT_TEXT:
            raise ValueError(f"a chat message has 1 to {MAX_CHAT_TEXT} characters")
        envelope: dict[str, Any] = {"id": uuid.uuid4().hex, "ts": int(time.time() * 1000), "body": {"text": text}}
        recipients = self._hub.identities()
        if any(len(self._outbox.get(i, ())) >= MAX_QUEUE for i in recipients) or len(self._orphans) >= MAX_QUEUE:
            raise OverflowError("too many unacknowledged chat messages")
        message = ChatMessage(envelope["id"], envelope["ts"], self._self_identity(), text, True, "queued")
        if not recipients:
            self._orphans.append(envelope)
        for identity in recipients:
            self._outbox.setdefault(identity, OrderedDict())[envelope["id"]] = envelope
            if self._transmit(identity, envelope):
                message.status = "sent"
        self._mine[message.id] = message
        self._record(message)
        if self._archive is not None:
            self._archive(message)
        return message

    async def wait_for(self, predicate: Callable[[list[ChatMessage]], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate(messages)`` holds (e.g. a reply arrived, a receipt came)."""
        async with asyncio.timeout(timeout):
            while not predicate(self.messages):
                self._changed.clear()
                await self._changed.wait()

    @property
    def pending(self) -> int:
        return len(self._orphans) + sum(len(box) for box in self._outbox.values())

    # ChannelService
    def on_open(self, identity: str, channel: RTCDataChannel) -> None:
        box = self._outbox.setdefault(identity, OrderedDict())
        for envelope in self._orphans:
            box[envelope["id"]] = envelope
        self._orphans.clear()
        for envelope in list(box.values()):
            self._transmit(identity, envelope)

    def on_close(self, identity: str) -> None:
        pass  # the outbox is resent when a channel opens again

    def on_message(self, identity: str, data: str | bytes) -> None:
        frame = self._parse(data)
        if frame is None:
            return
        if frame["t"] == "ack":
            box = self._outbox.get(identity)
            if box is not None and box.pop(frame["id"], None) is not None and frame["id"] in self._mine:
                self._mine[frame["id"]].status = "delivered"
                self._notify()
            return
        if frame["t"] == "eph":
            return  # typing indicators: a bot does not show them
        channel = self._hub.channel("chat", identity)
        if channel is not None:
            channel.send(json.dumps({"t": "ack", "id": frame["id"]}))
        seen = self._seen.setdefault(identity, OrderedDict())
        if frame["id"] in seen:
            return
        seen[frame["id"]] = None
        if len(seen) > 10_000:
            seen.popitem(last=False)
        text = frame["body"].get("text")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_CHAT_TEXT:
            self._reject("a chat message without valid text")
            return
        self._record(ChatMessage(frame["id"], int(frame["ts"]), identity, text, False, "delivered"))

    def _transmit(self, identity: str, envelope: dict[str, Any]) -> bool:
        channel = self._hub.channel("chat", identity)
        if channel is None:
            return False
        channel.send(json.dumps({"t": "msg", **envelope}))
        if (mine := self._mine.get(envelope["id"])) is not None and mine.status == "queued":
            mine.status = "sent"
        return True

    def _parse(self, data: str | bytes) -> dict[str, Any] | None:
        if not isinstance(data, str):
            return self._reject("binary frame on the chat channel")
        if len(data) > MAX_FRAME_BYTES:
            return self._reject(f"frame larger than {MAX_FRAME_BYTES} bytes")
        try:
            frame = json.loads(data)
        except ValueError:
            return self._reject("malformed JSON")
        if not isinstance(frame, dict) or frame.get("t") not in ("msg", "ack", "eph"):
            return self._reject("not a chat frame")
        if frame["t"] == "eph":
            return frame
        if not isinstance(frame.get("id"), str) or not _ID.match(frame["id"]):
            return self._reject("bad message id")
        if frame["t"] == "msg" and (
            not isinstance(frame.get("ts"), int | float) or not isinstance(frame.get("body"), dict)
        ):
            return self._reject("bad timestamp or body")
        return frame

    def _reject(self, why: str) -> dict[str, Any] | None:
        logger.warning("chat: rejected a frame: %s", why)
        self.errors.append(why)
        self._notify()
        return None

    def _record(self, message: ChatMessage) -> None:
        self.messages.append(message)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
