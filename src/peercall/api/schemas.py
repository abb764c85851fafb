"""REST request/response bodies (they also document the API in /openapi.json)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from peercall.auth.tokens import IDENTITY_PATTERN
from peercall.collab.settings import check_room_settings
from peercall.recording.policy import check_recording_setting

MAX_SETTINGS_BYTES = 8 * 1024


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    max_participants: int = Field(2, ge=2, description="At most the server's max_participants_cap")
    settings: dict[str, Any] = Field(default_factory=dict, description="Free-form room settings (≤ 8 KiB JSON)")

    @field_validator("settings")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_SETTINGS_BYTES:
            raise ValueError(f"settings exceed {MAX_SETTINGS_BYTES} bytes of JSON")
        check_room_settings(value)  # chat_archive (bool), max_file_bytes (int): see docs/collab.md
        check_recording_setting(value)  # off | host | any | server: see docs/recording.md
        return value


class PeerOut(BaseModel):
    peer_id: str
    identity: str
    name: str
    role: str
    joined_at: float
    media: dict[str, Any] = Field(default_factory=dict, description="audio on|muted|none, video on|off|none, screen")


class RoomOut(BaseModel):
    id: str
    name: str
    max_participants: int
    settings: dict[str, Any]
    created_at: float
    call_id: str | None = Field(None, description="The call session in progress, if any")
    participants: list[PeerOut] = Field(default_factory=list, description="Live participants")


class RoomList(BaseModel):
    rooms: list[RoomOut]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: str = Field(..., pattern=IDENTITY_PATTERN.pattern, description="Stable id of the user in your system")
    name: str | None = Field(None, max_length=100, description="Display name")
    role: Literal["host", "participant"] = "participant"
    ttl: int | None = Field(None, ge=30, description="Seconds; default and maximum come from the server config")


class TokenOut(BaseModel):
    token: str
    join_url: str
    expires_at: int
    identity: str
    role: str


class ParticipantOut(BaseModel):
    peer_id: str
    identity: str
    name: str
    role: str
    joined_at: float
    left_at: float | None
    left_reason: str | None


class CallOut(BaseModel):
    id: str
    room_id: str
    started_at: float
    ended_at: float | None
    end_reason: str | None
    participants: list[ParticipantOut]


class CallList(BaseModel):
    calls: list[CallOut]


class ReconnectOut(BaseModel):
    peer_id: str
    identity: str
    kind: str = Field(
        description=(
            "signaling (socket lost, then resumed; or rejoined, reported by the SDK)"
            " or media (ICE recovery, reported by the SDK)"
        )
    )
    cause: str
    started_at: float
    ended_at: float
    duration_ms: int
    outcome: str
    steps: list[dict[str, Any]]


class ReconnectList(BaseModel):
    call_id: str
    reconnects: list[ReconnectOut]


class IceServersOut(BaseModel):
    ice_servers: list[dict[str, Any]]
    ttl: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
