"""The room setting ``recording``: who may record a room's calls.

``off`` (default) nobody; ``host`` hosts from their browser; ``any`` every participant
from their browser; ``server`` the server's recorder peer records every call of the room
(browsers may not). Checked when a room is created, so a typo is a 422, not a room that
silently never records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

SERVER_MODE: Final = "server"
RECORDING_POLICIES: Final = ("off", "host", "any", SERVER_MODE)


def recording_policy(room_settings: Mapping[str, Any]) -> str:
    """The room's policy; rooms stored before validation existed fall back to ``off``."""
    value = room_settings.get("recording", "off")
    return value if value in RECORDING_POLICIES else "off"


def check_recording_setting(room_settings: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for a ``recording`` value that is not one of the policies."""
    value = room_settings.get("recording", "off")
    if value not in RECORDING_POLICIES:
        raise ValueError(f"recording: must be one of {', '.join(RECORDING_POLICIES)} (got {value!r})")
