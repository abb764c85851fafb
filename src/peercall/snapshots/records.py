"""A stored snapshot's metadata (the image itself is a content-addressed file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CaptureMethod = Literal["takePhoto", "grabFrame", "canvas"]
FocusMode = Literal["continuous", "single-shot", "manual"]
Source = Literal["local", "remote", "request"]  # own camera, a received track, a host's request


@dataclass(frozen=True)
class SnapshotRecord:
    id: str
    room_id: str
    call_id: str | None
    created_at: float
    taken_by: str  # identity who took it: the host who asked, or the uploader
    captured_by: str  # identity whose device (or whose view of the call) produced the image
    subject: str  # identity shown in the image
    source: Source
    request_id: str | None
    method: CaptureMethod
    mime: str
    ext: str
    width: int
    height: int
    size: int
    sha256: str
