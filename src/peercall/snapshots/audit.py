"""The snapshot audit trail as a hash chain (tamper-evident, append-only).

Each entry's ``hash`` is the SHA-256 of its canonical JSON content, which includes the
previous entry's hash in the same room (``prev_hash``; the first entry of a room chains
to :data:`GENESIS`). Changing, removing or reordering any stored entry breaks every hash
after it, which :func:`verify_chain` detects. The store offers no update or delete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AuditAction = Literal["requested", "captured", "failed"]
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One fact about a capture: who asked (``actor``), whose device captured, of whom, when."""

    room_id: str
    call_id: str | None
    at: float
    action: AuditAction
    actor: str  # identity who asked for or took the snapshot
    device: str | None  # identity whose device produced the image (captured), or was asked to
    subject: str | None  # identity shown in the image
    request_id: str | None = None
    snapshot_id: str | None = None
    sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""
    seq: int = 0  # position in the room's chain (1-based), assigned by the store

    def content(self) -> dict[str, Any]:
        """What the hash covers: everything but the hash itself and the storage position."""
        data = asdict(self)
        del data["hash"], data["seq"]
        return data


def entry_hash(entry: AuditEntry) -> str:
    canonical = json.dumps(entry.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_chain(entries: list[AuditEntry]) -> int | None:
    """Check a room's entries in order; returns the seq of the first bad entry, or None if intact."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq or entry.prev_hash != prev or entry_hash(entry) != entry.hash:
            return entry.seq or expected_seq
        prev = entry.hash
    return None
