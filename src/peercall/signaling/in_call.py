"""What a joined member's frames do besides relaying, pinging and leaving: media state,
the chat archive, moderation, snapshots, stats and reconnect reports.

Kept apart from :class:`~peercall.signaling.session.SignalingSession` (which owns the
socket's life: join, resume, the hot relay path, the end): these frames are rare, each
reaches a service of its own, and a session makes this object only when the first of them
arrives (most sockets never pay for it).
"""

from __future__ import annotations

import time
from typing import Any

from peercall.collab import archive_chat, collab_settings
from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.quality.service import StatsService
from peercall.quality.wire import Stats
from peercall.rooms.moderation import Moderator
from peercall.rooms.service import RoomService
from peercall.signaling.messages import (
    AnyClientFrame,
    ChatArchive,
    MediaState,
    Moderate,
    RecoveryReport,
    RejoinReport,
    SnapshotFailed,
    SnapshotRequest,
)
from peercall.signaling.ratelimit import TokenBucket
from peercall.snapshots.requests import SnapshotRequests
from peercall.store.base import ReconnectRecord


class InCall:
    """One joined member's in-call frames (room and member fixed: a new join, a new object)."""

    __slots__ = (
        "_member",
        "_rejoin_reported",
        "_room_id",
        "_room_settings",
        "_rooms",
        "_snapshots",
        "_stats",
        "_stats_gate",
    )

    def __init__(
        self,
        rooms: RoomService,
        room_id: str,
        member: Member,
        room_settings: dict[str, object],
        snapshots: SnapshotRequests | None,
        stats: StatsService | None,
    ) -> None:
        self._rooms = rooms
        self._room_id = room_id
        self._member = member
        self._room_settings = room_settings
        self._snapshots = snapshots
        self._stats = stats
        self._stats_gate: TokenBucket | None = None  # made at the first stats frame
        self._rejoin_reported = False

    async def handle(self, frame: AnyClientFrame) -> None:
        room_id, member = self._room_id, self._member
        if isinstance(frame, Stats):
            await self._ingest(frame)
        elif isinstance(frame, MediaState):
            media = frame.model_dump(exclude={"type"})
            if await self._rooms.hub.set_media(room_id, member.peer_id, media):
                await self._rooms.hub.broadcast(
                    room_id,
                    {"type": "peer-media", "peer_id": member.peer_id, "media": media},
                    exclude=member.peer_id,
                )
        elif isinstance(frame, ChatArchive):
            await archive_chat(
                self._rooms.store,
                collab_settings(self._room_settings),
                room_id=room_id,
                call_id=self._rooms.call_id(room_id),
                identity=member.identity,
                name=member.name,
                frame=frame,
            )
        elif isinstance(frame, Moderate):
            await Moderator(self._rooms).act(room_id, member, frame.to, frame.action)
        elif isinstance(frame, SnapshotRequest | SnapshotFailed):
            if self._snapshots is None:
                raise PeercallError("forbidden", "snapshots are not enabled on this server")
            if isinstance(frame, SnapshotRequest):
                await self._snapshots.request(room_id, member, frame.to, frame.request_id)
            else:
                await self._snapshots.failed(room_id, member, frame.request_id, frame.reason)
        elif isinstance(frame, RecoveryReport):
            steps = [{**step.model_dump(), "towards": frame.peer_id} for step in frame.steps]
            await self._store_episode("media", frame.cause, frame.duration_ms, frame.outcome, steps)
        elif isinstance(frame, RejoinReport):
            await self._store_rejoin(frame)
        else:  # the session handles every other type before it gets here
            raise AssertionError(f"unhandled frame type {type(frame).__name__}")

    async def _ingest(self, frame: Stats) -> None:
        if self._stats is None:
            return
        if self._stats_gate is None:
            self._stats_gate = self._stats.gate()
        if not self._stats_gate.allow():
            raise self._stats.refuse()
        await self._stats.ingest(self._room_id, self._member, frame)

    async def _store_rejoin(self, frame: RejoinReport) -> None:
        """One per session: a session is born of at most one rejoin."""
        if self._rejoin_reported:
            raise PeercallError("bad_message", "a rejoin was already reported on this connection")
        self._rejoin_reported = True
        steps = [{"step": "rejoin", "ok": True, "attempts": frame.attempts, "ms": frame.duration_ms}]
        await self._store_episode("signaling", frame.cause, frame.duration_ms, "rejoined", steps)

    async def _store_episode(
        self, kind: str, cause: str, duration_ms: int, outcome: str, steps: list[dict[str, Any]]
    ) -> None:
        """A reconnect episode the client reports, ending now, in the call's timeline."""
        call_id = self._rooms.call_id(self._room_id)
        if call_id is None:
            return
        ended = time.time()
        started = ended - duration_ms / 1000
        member = self._member
        record = ReconnectRecord(call_id, member.peer_id, member.identity, kind, cause, started, ended, outcome, steps)
        await self._rooms.store.add_reconnect(record)
