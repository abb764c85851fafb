"""Server-side recording: the Python peer joins the call as a hidden, announced recorder.

A room whose setting ``recording`` is ``"server"`` gets a recorder when its first
participant joins: an asyncio task in this server process that joins over the node's
own signaling endpoint (loopback) with a join token only the server issues (role
``recorder``, identity ``peercall:recorder``), sends no media and receives every
member's camera and microphone over a normal peer connection. Each member goes to its
own Matroska file (:mod:`.track_file`) stamped with the server-clock time it started,
which is all the composer needs to align them (like a double-ender, with no clock
offset to estimate: one clock). The recorder leaves when the last participant has
left, when the recording is stopped over REST, or when the room ends; then the files
become tracks of the recording row and the usual job composes the MP4.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from peercall.auth.tokens import RECORDER_IDENTITY, RECORDER_ROLE, TokenIssuer
from peercall.config import Settings
from peercall.hub.base import Member
from peercall.peer import Peer, PeerEvent
from peercall.recording.policy import SERVER_MODE, recording_policy
from peercall.recording.service import RecordingService
from peercall.recording.store import RecordingRow, TrackRow
from peercall.recording.track_file import TrackFile
from peercall.rooms.service import RoomService
from peercall.store.base import RoomRecord

log = logging.getLogger(__name__)

_POLL_S = 0.5


@dataclass
class _Member:
    """One recorded participant: its track row, its file and the readers feeding it."""

    track: TrackRow
    file: TrackFile
    pumps: dict[str, asyncio.Task[None]] = field(default_factory=dict)


class RoomRecorder:
    """The recorder of one room for one call (from the first join to the end)."""

    def __init__(self, service: RecorderService, room_id: str) -> None:
        self._service = service
        self.room_id = room_id
        self.recording_id: str | None = None
        self._stop = asyncio.Event()
        self._members: dict[str, _Member] = {}  # by identity: a member that rejoins keeps its file
        self._lock = asyncio.Lock()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        svc = self._service
        try:
            if any(m.role == RECORDER_ROLE for m in await svc.rooms.hub.members(self.room_id)):
                return  # another node's recorder is already there
            row = await svc.recordings.open_server_recording(self.room_id)
        except Exception:  # e.g. the room was deleted meanwhile
            log.exception("recorder: room %s not recorded", self.room_id)
            return
        self.recording_id = row.id
        peer: Peer | None = None
        try:
            token, _ = svc.tokens.issue(
                self.room_id, RECORDER_IDENTITY, "Recorder", RECORDER_ROLE, svc.settings.token_max_ttl
            )
            peer = await Peer.join(svc.url, token, video=False, audio=False, ssl=svc.ssl_context())
            peer.on(PeerEvent.TRACK, lambda peer_id, track: self._spawn_reader(peer, row, peer_id, track))
            while not self._stop.is_set() and peer.end_reason is None and _people(peer):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), _POLL_S)
        except Exception:
            log.exception("recorder: room %s failed", self.room_id)
        finally:
            if peer is not None:
                with contextlib.suppress(Exception):
                    await peer.leave()
            await self._finish(row)

    def _spawn_reader(self, peer: Peer, row: RecordingRow, peer_id: str, track: MediaStreamTrack) -> None:
        remote = peer.remote(peer_id)
        if remote.info.role == RECORDER_ROLE or self._stop.is_set():
            return
        task = asyncio.create_task(self._read(row, remote.info.identity, peer_id, track))
        self._service.tasks.add(task)
        task.add_done_callback(self._service.tasks.discard)

    async def _read(self, row: RecordingRow, identity: str, peer_id: str, track: MediaStreamTrack) -> None:
        async with self._lock:
            member = self._members.get(identity)
            if member is None:
                trow = await self._service.recordings.add_server_track(row, identity, peer_id)
                path = self._service.recordings.files.track_file(row.id, trow.id)
                path.parent.mkdir(parents=True, exist_ok=True)
                member = self._members[identity] = _Member(trow, TrackFile(path))
            previous = member.pumps.get(track.kind)  # a replaced connection: its new track takes over
            member.pumps[track.kind] = asyncio.current_task()  # type: ignore[assignment]
        if previous is not None:
            previous.cancel()
        try:
            while True:
                member.file.put(track.kind, await track.recv())
        except MediaStreamError:
            pass

    async def _finish(self, row: RecordingRow) -> None:
        recordings = self._service.recordings
        try:
            for member in self._members.values():
                for pump in member.pumps.values():
                    pump.cancel()
                await asyncio.gather(*member.pumps.values(), return_exceptions=True)
            for identity, member in self._members.items():
                try:
                    stats = await asyncio.to_thread(member.file.close)
                except Exception:
                    log.exception("recorder: the file of %s is unusable", identity)
                    continue
                clock = {"started_at": member.file.started_at_ms, "source": "recorder", **stats.__dict__}
                await recordings.complete_server_track(member.track, clock)
                log.info("recorder: %s of %s: %s", row.id, identity, stats)
            await recordings.end_server_recording(row.id)
        except Exception:
            log.exception("recorder: finishing %s failed", row.id)


class RecorderService:
    """Starts a :class:`RoomRecorder` when a participant joins a room recorded by the server."""

    def __init__(self, settings: Settings, rooms: RoomService, tokens: TokenIssuer, recordings: RecordingService):
        self.settings, self.rooms, self.tokens, self.recordings = settings, rooms, tokens, recordings
        self.url = settings.recorder_url or _loopback_url(settings)
        self.tasks: set[asyncio.Task[Any]] = set()
        self._recorders: dict[str, RoomRecorder] = {}
        self._stopped_calls: set[str] = set()  # stopped over REST: not again during this call
        self._closing = False
        rooms.on_joined.append(self._on_joined)
        recordings.stop_server_recorder = self.stop

    def ssl_context(self) -> ssl.SSLContext | None:
        """Our own endpoint over loopback: its (maybe self-signed) certificate is not checked."""
        if not self.url.startswith(("https:", "wss:")):
            return None
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context

    async def start(self) -> None:
        await self._salvage()

    def stop(self, room_id: str) -> None:
        recorder = self._recorders.get(room_id)
        if recorder is not None:
            call_id = self.rooms.call_id(room_id)
            if call_id:
                if len(self._stopped_calls) >= 10_000:  # bounded: old calls have ended long ago
                    self._stopped_calls.clear()
                self._stopped_calls.add(call_id)
            recorder.stop()

    async def close(self) -> None:
        """Server shutdown: every recorder leaves and hands its files to the (persisted) job queue."""
        self._closing = True
        for recorder in self._recorders.values():
            recorder.stop()
        running = list(self.tasks)
        if running:
            await asyncio.wait(running, timeout=30)

    def _on_joined(self, room: RoomRecord, member: Member) -> None:
        if self._closing or member.role == RECORDER_ROLE or recording_policy(room.settings) != SERVER_MODE:
            return
        if room.id in self._recorders or self.rooms.call_id(room.id) in self._stopped_calls:
            return
        recorder = self._recorders[room.id] = RoomRecorder(self, room.id)
        task = asyncio.create_task(recorder.run(), name=f"recorder-{room.id}")
        self.tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self.tasks.discard(finished)
            if self._recorders.get(room.id) is recorder:
                del self._recorders[room.id]

        task.add_done_callback(done)

    async def _salvage(self) -> None:
        """Server recordings cut by a crash: their Matroska files are readable as they are."""
        for active in await self.recordings.store.list_recordings():
            if active.state != "recording" or active.mode != SERVER_MODE:
                continue
            row = await self.recordings.get(active.id)
            for track in row.tracks:
                if not track.complete:
                    await self.recordings.complete_server_track(track, {**track.clock, "salvaged": True})
            await self.recordings.end_server_recording(row.id)
            log.info("recorder: salvaged %s after a restart", row.id)


def _people(peer: Peer) -> bool:
    return any(info.role != RECORDER_ROLE for info in peer.peers.values())


def _loopback_url(settings: Settings) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "http" if settings.tls == "off" else "https"
    return f"{scheme}://{host}:{settings.port}"
