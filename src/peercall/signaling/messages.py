"""Client→server frames of protocol v1 as pydantic models (see docs/protocol.md).

Models forbid unknown fields and bound every string, so a frame that passes
:func:`parse_client_frame` is safe to relay.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from peercall.errors import PeercallError

PeerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Sdp = Annotated[str, Field(min_length=1, max_length=60_000)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(_Frame):
    type: Literal["join"]
    v: int
    token: Annotated[str, Field(max_length=4096)]


class Offer(_Frame):
    type: Literal["offer"]
    to: PeerId
    sdp: Sdp


class Answer(_Frame):
    type: Literal["answer"]
    to: PeerId
    sdp: Sdp


class IceCandidateInit(_Frame):
    # Browsers send exactly these RTCIceCandidateInit members.
    candidate: Annotated[str, Field(max_length=2048)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class IceCandidate(_Frame):
    type: Literal["ice-candidate"]
    to: PeerId
    candidate: IceCandidateInit | None


class Leave(_Frame):
    type: Literal["leave"]
    reason: Literal["hangup", "navigate", "error"] = "hangup"


class Ping(_Frame):
    type: Literal["ping"]
    ts: float | None = None


ClientFrame = Annotated[Join | Offer | Answer | IceCandidate | Leave | Ping, Field(discriminator="type")]
RelayFrame = Offer | Answer | IceCandidate
CLIENT_TYPES = frozenset({"join", "offer", "answer", "ice-candidate", "leave", "ping"})
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)


def parse_client_frame(text: str) -> Join | Offer | Answer | IceCandidate | Leave | Ping:
    """Decode and validate one frame; raises PeercallError with a precise code."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise PeercallError("bad_json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise PeercallError("bad_json", "frame must be a JSON object")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise PeercallError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "frame"
        raise PeercallError("bad_message", f"{kind}: {where}: {first['msg']}") from None


def relay_payload(frame: RelayFrame) -> dict[str, Any]:
    """The frame as forwarded to the receiving peer (without `to`; the hub adds `from`)."""
    return frame.model_dump(exclude={"to"}, exclude_none=False)
