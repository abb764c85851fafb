"""A call participant in Python: signaling, one RTCPeerConnection per remote member, media.

Negotiation follows docs/protocol.md: the newcomer is impolite and offers to every peer
in ``joined.peers``; a member told of a newcomer by ``peer-joined`` is polite and answers.
aiortc can neither roll back an offer nor restart ICE, so wherever a browser would do
either, the connection to that peer is *replaced* by a new one (:meth:`RemotePeer.replace_pc`).
aiortc does not trickle (its SDP already carries every local candidate) but accepts trickle.

Network trouble (see docs/protocol.md and the browser SDK's call.js): when the signaling
socket drops, the connections keep carrying media while :class:`ResilientSignaling`
resumes the session (or joins again after a server restart, see :mod:`.roster`); a
connection that fails is replaced (:mod:`.recovery`). Every transition is an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import Callable
from typing import Any, Self, TypeVar, cast

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from pyee.asyncio import AsyncIOEventEmitter

from .chat import Chat, ChatMessage
from .data_channels import DataHub, open_data_channels
from .files import FileTransfers
from .media import ReceiveStats, TrackRelay, count_frames, media_sources
from .reconnect import (
    NO_RECONNECT,
    BackoffPolicy,
    Dialer,
    EndReason,
    ReconnectPolicy,
    ResilientSignaling,
    SignalingState,
)
from .recovery import MediaRecoveryPolicy
from .remote_peer import _KINDS, ConnectionState, LeaveReason, MediaKind, MediaSource, PeerClosed, PeerEvent, RemotePeer
from .roster import Roster
from .signaling_client import SignalingClient
from .wire import Frame, PeerInfo, Role, SignalingError

__all__ = ["ConnectionState", "EndReason", "MediaSource", "Peer", "PeerClosed", "PeerEvent", "RemotePeer"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


class Peer(AsyncIOEventEmitter):
    """One participant of a room, joined from Python; see :class:`PeerEvent` for its events.

    Received tracks are counted per remote member (:meth:`stats`). To record or inspect
    them take a fresh reader with :meth:`subscribe` (a relay reader): two readers of
    one aiortc track would each get half of the frames. Local sources are relayed the
    same way, one proxy per connection, so a source can feed several connections.

    Without a ``dialer`` (how to reach the server again) the Peer ends when its signaling
    socket drops; :meth:`join` provides one.
    """

    def __init__(
        self,
        signaling: SignalingClient,
        sources: dict[MediaKind, MediaStreamTrack],
        owned: list[MediaStreamTrack],
        *,
        dialer: Dialer | None = None,
        reconnect: ReconnectPolicy | None = None,
        media_recovery: MediaRecoveryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.end_reason: EndReason | None = None
        self.error_code: str | None = None
        """Code of the fatal ``error`` that ended the session, e.g. ``session_replaced``, ``session_expired``."""
        self.data = DataHub()
        self.chat = Chat(self.data, lambda: self.identity, self._archive_chat)
        """In-call chat with the browsers (same protocol as the SDK's ``call.chat``)."""
        self.files = FileTransfers(self.data, lambda: self._max_file_bytes)
        """File sharing (same protocol as ``call.files``); set ``files.directory`` to accept files."""
        self._adopt(signaling.joined)
        policy = reconnect or (BackoffPolicy() if dialer else NO_RECONNECT)
        self._link = ResilientSignaling(signaling, dialer, policy)
        self._dialer = dialer  # also authorises snapshot uploads (peer/snapshots.py)
        self._sources, self._owned = sources, owned
        self._recovery_policy = media_recovery or MediaRecoveryPolicy()
        self._relay = TrackRelay()
        self._roster = Roster(self)
        self._remotes = self._roster.remotes
        self._changed = asyncio.Event()
        self._closing = False
        for data in signaling.joined.get("peers") or []:  # we are the newcomer: impolite, we offer
            self._roster.add(PeerInfo.from_frame(data), polite=False).reconnect()
        self._run_task = asyncio.create_task(self._run(), name=f"peer-{self.peer_id}")

    def _adopt(self, session: Frame) -> None:
        """Who we are in this session (``joined``/``resumed``); the peer id changes on a rejoin."""
        self.peer_id: str = session["peer_id"]
        self.room_id: str = session["room_id"]
        self.identity: str = session.get("identity", "")
        self.name: str = session.get("name", "")
        self.role: Role = session.get("role", "participant")
        self.call_id: str | None = session.get("call_id")
        self._ice_servers = _ice_servers(session.get("ice_servers") or [])
        relay_only = session.get("ice_transport_policy") == "relay"  # a relay-only room: TURN candidates only
        self._ice_policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        collab = session.get("collab") or {}
        max_file = collab.get("max_file_bytes") if isinstance(collab, dict) else None
        self._max_file_bytes = max_file if isinstance(max_file, int) and max_file > 0 else 2 * 1024**3
        self._chat_archive = isinstance(collab, dict) and collab.get("chat_archive") is True

    @classmethod
    async def join(
        cls,
        url: str,
        token: str,
        *,
        video: MediaSource = True,
        audio: MediaSource = True,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = 10.0,
        reconnect: ReconnectPolicy | None = None,
        media_recovery: MediaRecoveryPolicy | None = None,
    ) -> Peer:
        """Join the room named in ``token`` at ``url`` (http(s) base or ws(s) URL).

        ``reconnect``: when to resume after the signaling socket dropped (default
        :class:`BackoffPolicy`; ``NO_RECONNECT`` ends the Peer instead). ``media_recovery``:
        the timers for replacing a failed connection.
        Raises :class:`JoinRejected` (with the server's ``code``) or :class:`SignalingError`.
        """
        sources, owned = media_sources(audio=audio, video=video)
        dialer = Dialer(url, token, ssl)
        signaling = await dialer.first_join(timeout, reconnect or BackoffPolicy())
        return cls(signaling, sources, owned, dialer=dialer, reconnect=reconnect, media_recovery=media_recovery)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.leave()

    @property
    def peers(self) -> dict[str, PeerInfo]:
        """The other members present now."""
        return {pid: r.info for pid, r in self._remotes.items() if r.present}

    @property
    def signaling(self) -> SignalingClient:
        """The current signaling socket (a new one after each reconnection)."""
        return self._link.client

    @property
    def signaling_state(self) -> SignalingState:
        """``connected``, ``reconnecting`` (media keeps flowing meanwhile) or ``closed``."""
        return self._link.state

    def peer_id_of(self, identity: str) -> str | None:
        """The current peer id of the member with this identity (ids change when it rejoins)."""
        remote = self._roster.by_identity(identity)
        return remote.info.peer_id if remote else None

    def remote(self, peer_id: str) -> RemotePeer:
        """The bookkeeping for one member, kept after it leaves (stats stay readable)."""
        return self._remotes[peer_id]

    def connection_state(self, peer_id: str) -> ConnectionState | None:
        remote = self._remotes.get(peer_id)
        return remote.state if remote else None

    def stats(self, peer_id: str) -> ReceiveStats:
        return self._remotes[peer_id].stats

    def subscribe(self, peer_id: str, kind: MediaKind) -> MediaStreamTrack | None:
        """A new reader of the track received from ``peer_id`` (e.g. for MediaRecorder); it ends with the call."""
        track = self._remotes[peer_id].tracks.get(kind)
        return self._relay.subscribe(track) if track is not None else None

    async def wait_connected(self, timeout: float | None = 10.0, peer_id: str | None = None) -> str:
        """Wait until the connection to ``peer_id`` (default: any member) is connected; its id."""
        return await self._wait_for(lambda: self._first(peer_id, lambda r: r.state == "connected"), timeout)

    async def wait_remote_track(
        self, kind: MediaKind, timeout: float | None = 10.0, peer_id: str | None = None
    ) -> MediaStreamTrack:
        """Wait for a received ``kind`` track; returns a fresh relay subscription to it."""
        pid = await self._wait_for(lambda: self._first(peer_id, lambda r: kind in r.tracks), timeout)
        return self._relay.subscribe(self._remotes[pid].tracks[kind])

    async def wait_frames(
        self, video: int = 1, audio: int = 0, timeout: float | None = 10.0, peer_id: str | None = None
    ) -> ReceiveStats:
        """Wait until at least ``video`` and ``audio`` frames arrived from one member."""

        def enough(r: RemotePeer) -> bool:
            return r.stats.video_frames >= video and r.stats.audio_frames >= audio

        return self._remotes[await self._wait_for(lambda: self._first(peer_id, enough), timeout)].stats

    def restart(self, peer_id: str) -> None:
        """Rebuild the connection to ``peer_id`` and offer on it with ``reset`` (aiortc's ICE restart)."""
        self._remotes[peer_id].reconnect(reset=True)

    async def leave(self, reason: LeaveReason = "hangup") -> None:
        """Hang up: tell the server, close every connection and the socket (idempotent)."""
        if not self._closing:
            with contextlib.suppress(SignalingError):  # already gone (or reconnecting): nothing to tell
                await self._link.send({"type": "leave", "reason": reason})
            await self._shutdown("left")
        if asyncio.current_task() is not self._run_task:
            await asyncio.gather(self._run_task, return_exceptions=True)

    async def wait_closed(self) -> EndReason:
        return await self._wait_for(lambda: self.end_reason, None, raise_closed=False)

    # -- internals ----------------------------------------------------------------

    def _first(self, peer_id: str | None, test: Callable[[RemotePeer], bool]) -> str | None:
        for pid, remote in self._remotes.items():
            if (pid == peer_id or (peer_id is None and remote.present)) and test(remote):
                return pid
        return None

    async def _wait_for(
        self, probe: Callable[[], _T | None], timeout: float | None, *, raise_closed: bool = True
    ) -> _T:
        async with asyncio.timeout(timeout):
            while (result := probe()) is None:
                if raise_closed and self.end_reason is not None:
                    raise PeerClosed(f"peer ended: {self.end_reason} {self.error_code or ''}".strip())
                await self._changed.wait()
            return result

    def _notify(self) -> None:
        """Wake every waiter; they re-check their condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _send_to(
        self, remote: RemotePeer, frame: Frame, *, current: Callable[[], bool] | None = None, key: str = "to"
    ) -> None:
        """Send a frame about ``remote``, waiting while signaling reconnects; its id is read
        only then (it may have been re-keyed). Dropped if no longer ``current``."""
        if not await self._link.wait_up(self._recovery_policy.give_up_after):
            raise SignalingError(f"signaling is {self._link.state}")
        if not remote.present or (current is not None and not current()):
            logger.debug("peer %s: not sending an obsolete %s", remote.info.peer_id, frame["type"])
            return
        await self._link.send({**frame, key: remote.info.peer_id})

    def _archive_chat(self, message: ChatMessage) -> None:
        """The room keeps a transcript: send the server its copy (best effort, like the SDK)."""
        if self._chat_archive:
            frame = {"type": "chat-archive", "id": message.id, "ts": message.ts, "text": message.text}
            self._roster.spawn(self._send_quietly(frame))

    async def _send_quietly(self, frame: Frame) -> None:
        try:
            await self._link.send(frame, wait=5.0)
        except SignalingError as exc:
            logger.warning("peer %s: %s not sent: %s", self.peer_id, frame["type"], exc)

    def _create_pc(self, remote: RemotePeer) -> RTCPeerConnection:
        # Always an explicit list: with None, aiortc falls back to Google's public STUN server.
        config = RTCConfiguration(iceServers=list(self._ice_servers), iceTransportPolicy=self._ice_policy)
        pc = RTCPeerConnection(config)
        self.data.attach(remote.info.identity, open_data_channels(pc))  # before any offer or answer

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            state = cast(ConnectionState, pc.connectionState)
            if remote.pc is pc:  # ignore a connection that was already replaced
                self._on_state(remote, state)

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if remote.pc is pc:
                remote.tracks[track.kind] = track
                remote.spawn(count_frames(self._relay.subscribe(track), remote.stats, self._notify))
                self._notify()
                self.emit(PeerEvent.TRACK, remote.info.peer_id, self._relay.subscribe(track))

        return pc

    def _attach_media(self, pc: RTCPeerConnection, *, offering: bool) -> None:
        """Send our sources (one relay proxy per connection); an offer asks for both kinds."""
        for kind in _KINDS:
            if (source := self._sources.get(kind)) is not None:
                pc.addTrack(self._relay.subscribe(source, maxsize=4))  # an encoder wants the newest
            elif offering:
                pc.addTransceiver(kind, direction="recvonly")

    def _on_state(self, remote: RemotePeer, state: ConnectionState) -> None:
        self._roster.on_state(remote, state)

    async def _run(self) -> None:
        """Route inbound frames until the session ends for good (reconnections included)."""
        reason: EndReason = "disconnected"
        try:
            async for item in self._link:
                if self._closing:  # leave() is tearing down: late frames must not create connections
                    break
                if await self._roster.route(item):
                    reason = "room_ended"
                    break
            else:
                self.error_code = self._link.error_code
                reason = self._link.end_reason or "disconnected"
        except Exception:
            logger.exception("peer %s: routing signaling failed; ending the session", self.peer_id)
            raise
        finally:
            await self._shutdown(reason)

    async def _shutdown(self, reason: EndReason) -> None:
        if self._closing:
            return
        self._closing = True
        await self._roster.close()
        for track in self._owned:
            track.stop()
        await self._relay.aclose()
        await self._link.close()
        self.end_reason = reason
        logger.info("peer %s ended: %s", self.peer_id, reason)
        self._notify()
        self.emit(PeerEvent.CLOSED, reason)


def _ice_servers(entries: list[dict[str, Any]]) -> list[RTCIceServer]:
    """``joined.ice_servers`` for aiortc, which uses one STUN and the first usable TURN URL."""
    servers = [
        RTCIceServer(urls=e["urls"], username=e.get("username"), credential=e.get("credential"))
        for e in entries
        if e.get("urls")
    ]
    turn = [u for s in servers for u in ([s.urls] if isinstance(s.urls, str) else s.urls) if u.startswith("turn")]
    if len(turn) > 1:
        logger.info("aiortc will use only the first usable TURN URL of %s", turn)
    return servers
