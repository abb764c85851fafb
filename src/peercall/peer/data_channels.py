"""The call's pre-negotiated data channels on aiortc, and who to route their messages to.

Same ids and labels as the browser SDK (``web/sdk/data-channels.js``, docs/collab.md):
both sides create them right after building the RTCPeerConnection (``negotiated=True``),
so no extra signaling is needed. :class:`DataHub` follows each remote member by
*identity*: a replaced connection (recovery) brings new channels, and the services
(chat, files) are told so they can resend what was not acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from aiortc import RTCDataChannel, RTCPeerConnection

__all__ = ["DATA_CHANNELS", "ChannelKind", "ChannelService", "DataHub", "open_data_channels"]

logger = logging.getLogger(__name__)

ChannelKind = Literal["chat", "app", "file", "whiteboard"]
DATA_CHANNELS: dict[ChannelKind, tuple[int, str]] = {
    "chat": (1, "peercall-chat"),
    "app": (2, "peercall-app"),
    "file": (3, "peercall-file"),
    "whiteboard": (4, "peercall-whiteboard"),
}


def open_data_channels(pc: RTCPeerConnection) -> dict[ChannelKind, RTCDataChannel]:
    """Create the channels on a new connection, before any offer or answer."""
    return {
        kind: pc.createDataChannel(label, negotiated=True, id=channel_id, ordered=True)
        for kind, (channel_id, label) in DATA_CHANNELS.items()
    }


class ChannelService(Protocol):
    def on_open(self, identity: str, channel: RTCDataChannel) -> None: ...
    def on_close(self, identity: str) -> None: ...
    def on_message(self, identity: str, data: str | bytes) -> None: ...


@dataclass
class _Member:
    channels: dict[ChannelKind, RTCDataChannel]


class DataHub:
    """Routes each member's current channels to the registered services."""

    def __init__(self) -> None:
        self._members: dict[str, _Member] = {}
        self._services: dict[ChannelKind, ChannelService] = {}

    def register(self, kind: ChannelKind, service: ChannelService) -> None:
        self._services[kind] = service

    def attach(self, identity: str, channels: dict[ChannelKind, RTCDataChannel]) -> None:
        """A (new) connection to ``identity``: its channels replace the previous ones."""
        if identity in self._members:
            for service in self._services.values():
                service.on_close(identity)
        member = _Member(channels)
        self._members[identity] = member
        for kind, channel in channels.items():
            self._wire(identity, member, kind, channel)

    def identities(self) -> list[str]:
        return list(self._members)

    def channel(self, kind: ChannelKind, identity: str) -> RTCDataChannel | None:
        """The open channel of ``kind`` to ``identity``, if any."""
        member = self._members.get(identity)
        channel = member.channels.get(kind) if member else None
        return channel if channel is not None and channel.readyState == "open" else None

    def _wire(self, identity: str, member: _Member, kind: ChannelKind, channel: RTCDataChannel) -> None:
        def current() -> bool:
            return self._members.get(identity) is member

        def call(action: Callable[[ChannelService], None]) -> None:
            service = self._services.get(kind)
            if service is not None and current():
                try:
                    action(service)
                except Exception:  # one bad message must not break the channel
                    logger.exception("data channel %s from %s: handler failed", kind, identity)

        channel.on("open", lambda: call(lambda s: s.on_open(identity, channel)))
        channel.on("close", lambda: call(lambda s: s.on_close(identity)))
        channel.on("message", lambda data: call(lambda s: s.on_message(identity, data)))
