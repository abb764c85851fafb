"""Webhook event types and the one interface the rest of the server emits them through.

Emitting code (rooms, recordings, snapshots) knows nothing of HTTP: it calls
``events.publish(type, data)``; the dispatcher (dispatcher.py) stores one delivery per
subscribed endpoint and sends it. Without webhooks configured the sink does nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol, get_args

log = logging.getLogger(__name__)

EventType = Literal[
    "room.started",
    "participant.joined",
    "participant.left",
    "call.ended",
    "recording.ready",
    "snapshot.created",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class EventSink(Protocol):
    async def publish(self, event: EventType, data: dict[str, Any]) -> None:
        """Queue ``event`` for every endpoint subscribed to it; never raises."""

    async def wants(self, event: EventType) -> bool:
        """Someone subscribes to ``event``: build a costly payload only then."""


class NoEvents:
    """The sink before webhooks are wired (tests that build services piecemeal)."""

    async def publish(self, event: EventType, data: dict[str, Any]) -> None:
        return None

    async def wants(self, event: EventType) -> bool:
        return False


async def publish_safely(sink: EventSink, event: EventType, data: dict[str, Any]) -> None:
    """Emit without letting a webhook problem break the call path that emits."""
    try:
        await sink.publish(event, data)
    except Exception:  # a database hiccup must not fail a join or a leave
        log.exception("webhook event %s not queued", event)
