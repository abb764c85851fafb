"""Types shared by the peer package: frames, members, events, errors.

Exceptions raised by the peer package::

    PeerError
    ├── SignalingError        the socket failed, closed, or a frame cannot be sent
    │   └── JoinRejected      the server answered ``join``/``resume`` with an ``error`` frame
    └── PeerClosed            the Peer ended while a wait was pending
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, cast

__all__ = [
    "PROTOCOL_VERSION",
    "Frame",
    "JoinRejected",
    "PeerClosed",
    "PeerError",
    "PeerEvent",
    "PeerInfo",
    "Role",
    "SignalingError",
]

Frame = dict[str, Any]
"""One protocol frame: a JSON object with a ``type`` field."""

PROTOCOL_VERSION: Final = 1

Role = Literal["host", "participant", "recorder"]


@dataclass(frozen=True)
class PeerInfo:
    """A member of a room as the server describes it (``joined.peers``, ``peer-joined``)."""

    peer_id: str
    identity: str = ""
    name: str = ""
    role: Role = "participant"

    @classmethod
    def from_frame(cls, data: dict[str, Any]) -> PeerInfo:
        role = (
            cast(Role, data.get("role")) if data.get("role") in ("host", "participant", "recorder") else "participant"
        )
        return cls(str(data["peer_id"]), str(data.get("identity", "")), str(data.get("name", "")), role)


class PeerError(Exception):
    """Root of every error raised by :mod:`peercall.peer`."""


class SignalingError(PeerError):
    """The signaling socket failed or closed; ``close_code`` is the WebSocket code if known."""

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        self.close_code = close_code


class JoinRejected(SignalingError):
    """The server refused ``join`` or ``resume``; ``code`` is the stable error code
    (e.g. ``room_full``, ``resume_failed``, ``session_expired``)."""

    def __init__(self, code: str, message: str, *, close_code: int | None = None) -> None:
        super().__init__(f"{code}: {message}", close_code=close_code)
        self.code = code
        self.message = message


class PeerEvent(StrEnum):
    """Events emitted by :class:`Peer` (pyee), with their handler arguments."""

    PEER_JOINED = "peer-joined"  # (info: PeerInfo)
    PEER_LEFT = "peer-left"  # (peer_id: str, reason: str)
    CONNECTION_STATE = "connectionstatechange"  # (peer_id: str, state: ConnectionState)
    TRACK = "track"  # (peer_id: str, track: MediaStreamTrack) -- a relay subscription, read freely
    SERVER_ERROR = "server-error"  # (code: str, message: str, fatal: bool)
    # Our signaling socket dropped; resuming the session (connections keep carrying media).
    RECONNECTING = "reconnecting"  # (cause: str)
    # Signaling is back: resumed (same peer id) or, if False, joined again (new peer id).
    RECONNECTED = "reconnected"  # (resumed: bool)
    # A member lost its signaling socket; its place is kept for the server's grace period.
    PEER_RECONNECTING = "peer-reconnecting"  # (peer_id: str)
    # That member is back: resumed (same id) or rejoined under a new id (re-keyed, media kept).
    PEER_RECONNECTED = "peer-reconnected"  # (peer_id: str, previous_peer_id: str)
    # The connection to a member failed; a new one is being tried (aiortc's only rung).
    MEDIA_RECOVERING = "media-recovering"  # (peer_id: str, cause: str, step: str, attempt: int)
    # The recovery episode ended: the recovery-report fields (cause, duration_ms, outcome, steps).
    MEDIA_RECOVERED = "media-recovered"  # (peer_id: str, report: dict)
    CLOSED = "closed"  # (reason: EndReason)


class PeerClosed(PeerError):
    """The Peer ended (left, room ended, server error, socket lost) while a wait was pending."""
