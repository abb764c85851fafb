"""Client→server frames of protocol v1 as pydantic models (see docs/protocol.md), and
the server→client frames that have a model (``drain``).

Models forbid unknown fields and bound every string, so a frame that passes
:func:`parse_client_frame` is safe to relay.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from peercall.errors import PeercallError
from peercall.quality.wire import Stats

PeerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Sdp = Annotated[str, Field(min_length=1, max_length=60_000)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Relayed(_Frame):
    """A frame passed on to another peer as the client wrote it (less ``to``): strict, so
    what was checked is exactly what is forwarded (no "1" read as 1, no 1 as true)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Join(_Frame):
    type: Literal["join"]
    v: int
    token: Annotated[str, Field(max_length=4096)]


class Offer(_Relayed):
    type: Literal["offer"]
    to: PeerId
    sdp: Sdp
    # The sender replaced its peer connection (recovery): the receiver must do the same.
    reset: bool = False


class Answer(_Relayed):
    type: Literal["answer"]
    to: PeerId
    sdp: Sdp


class IceCandidateInit(_Relayed):
    # Browsers send exactly these RTCIceCandidateInit members.
    candidate: Annotated[str, Field(max_length=2048)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class IceCandidate(_Relayed):
    type: Literal["ice-candidate"]
    to: PeerId
    candidate: IceCandidateInit | None


class Leave(_Frame):
    type: Literal["leave"]
    reason: Literal["hangup", "navigate", "error"] = "hangup"


class Resume(_Frame):
    """First frame of a new socket that takes over a dropped session (instead of `join`)."""

    type: Literal["resume"]
    v: int
    resume_token: Annotated[str, Field(min_length=10, max_length=256)]
    last_seq: Annotated[int, Field(ge=0)] = 0
    # Orders one client's attempts (increasing): an abandoned attempt the server reads late
    # must not evict the newer socket. Absent: not ordered (older clients).
    attempt: Annotated[int, Field(ge=1, le=2**53)] | None = None


class RecoveryStep(_Frame):
    step: Literal["ice_restart", "relay_restart", "new_connection", "signaling_resume", "rejoin"]
    ok: bool
    ms: Annotated[int, Field(ge=0, le=3_600_000)]


class RecoveryReport(_Frame):
    """The SDK's account of one media recovery towards one peer (stored in the call timeline)."""

    type: Literal["recovery-report"]
    peer_id: PeerId
    cause: Literal["ice_disconnected", "ice_failed", "network_change", "offline", "no_inbound_media", "manual"]
    duration_ms: Annotated[int, Field(ge=0, le=3_600_000)]
    outcome: Literal["recovered", "failed", "abandoned"]
    steps: Annotated[list[RecoveryStep], Field(max_length=32)] = []


class RejoinReport(_Frame):
    """The SDK's account of a signaling outage it survived by *rejoining* (a resume was
    impossible, e.g. the server restarted and forgot the session): only the client knows
    when the episode began, so only it can put it in the call's reconnect timeline."""

    type: Literal["rejoin-report"]
    cause: Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")]
    duration_ms: Annotated[int, Field(ge=0, le=3_600_000)]
    attempts: Annotated[int, Field(ge=1, le=100_000)] = 1


class MediaState(_Frame):
    """What this member is sending now; kept by the server and shown to the others."""

    type: Literal["media-state"]
    audio: Literal["on", "muted", "none"]
    video: Literal["on", "off", "none"]
    screen: bool = False


ModerationAction = Literal[
    "mute_audio", "disable_video", "stop_screen", "remove", "ask_unmute", "ask_video", "unmute_audio", "enable_video"
]


class Moderate(_Frame):
    """A host's command about another member (roles are enforced by the server)."""

    type: Literal["moderate"]
    to: PeerId
    action: ModerationAction


RequestId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class SnapshotRequest(_Frame):
    """A host asks another member's device for a high-resolution snapshot (video-KYC)."""

    type: Literal["snapshot-request"]
    to: PeerId
    request_id: RequestId


class SnapshotFailed(_Frame):
    """The asked device could not capture; the host who asked is told."""

    type: Literal["snapshot-failed"]
    request_id: RequestId
    reason: Annotated[str, Field(max_length=200)] = ""


class ChatArchive(_Frame):
    """The compliance copy of a chat message we sent peer to peer (rooms with ``chat_archive``)."""

    type: Literal["chat-archive"]
    id: PeerId
    ts: Annotated[int, Field(ge=0, le=2**53)]
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class Ping(_Frame):
    type: Literal["ping"]
    ts: float | None = None
    # The highest `seq` the client processed: the server drops those frames from its replay ring.
    ack: Annotated[int, Field(ge=0, le=2**53)] | None = None


class TimeRequest(_Frame):
    """Asks for the server's clock (answered with ``time``: ts echoed, server_ts in ms)."""

    type: Literal["time"]
    ts: float


AnyClientFrame = (
    Join
    | Resume
    | Offer
    | Answer
    | IceCandidate
    | Leave
    | Ping
    | RecoveryReport
    | RejoinReport
    | MediaState
    | Moderate
    | SnapshotRequest
    | SnapshotFailed
    | ChatArchive
    | Stats
    | TimeRequest
)
ClientFrame = Annotated[AnyClientFrame, Field(discriminator="type")]
RelayFrame = Offer | Answer | IceCandidate
RELAYED: frozenset[type[_Frame]] = frozenset(get_args(RelayFrame))
# Every frame type a client may send, read off the models (one list to keep up to date).
CLIENT_TYPES = frozenset(get_args(model.model_fields["type"].annotation)[0] for model in get_args(AnyClientFrame))
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)


class Drain(_Frame):
    """Server → client: this node is shutting down. Reconnect (``resume``) after a random
    delay in ``[0, reconnect_within_ms]`` so one node's clients do not all land at once;
    the balancer sends the new socket to another node, where the session lives on (Redis)."""

    type: Literal["drain"] = "drain"
    reconnect_within_ms: Annotated[int, Field(ge=0, le=600_000)]


def parse_client_frame(text: str) -> AnyClientFrame:
    """Decode and validate one frame; raises PeercallError with a precise code."""
    return read_client_frame(text)[0]


def read_client_frame(text: str) -> tuple[AnyClientFrame, dict[str, Any]]:
    """The validated frame and the JSON object it was read from (see :func:`relay_payload`)."""
    try:
        data = orjson.loads(text)  # ~2x json.loads; its errors are ValueErrors (depth-limited)
    except (ValueError, RecursionError):
        raise PeercallError("bad_json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise PeercallError("bad_json", "frame must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_TYPES:
        raise PeercallError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    try:
        return _adapter.validate_python(data), data
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "frame"
        raise PeercallError("bad_message", f"{kind}: {where}: {first['msg']}") from None


def relay_payload(data: dict[str, Any]) -> dict[str, Any]:
    """A relayed frame as forwarded to the receiving peer (without `to`; the hub adds
    `from`): the object the client sent, once it validated as a :class:`_Relayed` model.
    Not ``model_dump``: rebuilding the dict from the model was ~5 % of a node's CPU per
    relayed frame, and strict models make the two the same."""
    return {key: value for key, value in data.items() if key != "to"}
