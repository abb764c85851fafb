"""Room settings for collaboration, validated (the rooms table keeps settings as free JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
MAX_FILE_BYTES_CAP = 64 * 1024**3


class CollabSettings(BaseModel):
    """``chat_archive``: keep the chat transcript on the server (compliance), off by default.
    ``max_file_bytes``: the largest file members may send each other in this room."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    chat_archive: bool = False
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1, le=MAX_FILE_BYTES_CAP)

    def to_frame(self) -> dict[str, Any]:
        """The ``collab`` field of ``joined``/``resumed``: what the SDK needs to know."""
        return {"chat_archive": self.chat_archive, "max_file_bytes": self.max_file_bytes}


def collab_settings(room_settings: Mapping[str, Any]) -> CollabSettings:
    """The collaboration settings of a room; rooms created before validation fall back to defaults."""
    try:
        return CollabSettings.model_validate(dict(room_settings))
    except ValidationError:
        return CollabSettings()


def check_room_settings(room_settings: Mapping[str, Any]) -> None:
    """Reject bad collaboration keys when a room is created (raises ``ValueError``)."""
    try:
        CollabSettings.model_validate(dict(room_settings), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
