"""A call participant in Python: signaling, one RTCPeerConnection per remote member, media.

Negotiation follows docs/protocol.md: the newcomer is impolite and offers to every peer
in ``joined.peers``; a member told of a newcomer by ``peer-joined`` is polite and answers.
aiortc can neither roll back an offer nor restart ICE, so wherever a browser would do
either, the connection to that peer is *replaced* by a new one (:meth:`RemotePeer.replace_pc`).
aiortc does not trickle (its SDP already carries every local candidate) but accepts trickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar, cast

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from pyee.asyncio import AsyncIOEventEmitter

from .media import ReceiveStats, SyntheticAudioTrack, SyntheticVideoTrack, TrackRelay, count_frames
from .remote_peer import (
    _KINDS,
    ConnectionState,
    EndReason,
    LeaveReason,
    MediaKind,
    MediaSource,
    PeerClosed,
    PeerEvent,
    RemotePeer,
)
from .signaling_client import Frame, PeerInfo, Role, SignalingClient, SignalingError

__all__ = ["ConnectionState", "EndReason", "MediaSource", "Peer", "PeerClosed", "PeerEvent", "RemotePeer"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


class Peer(AsyncIOEventEmitter):
    """One participant of a room, joined from Python; see :class:`PeerEvent` for its events.

    Received tracks are counted per remote member (:meth:`stats`). To record or inspect
    them take a fresh reader with :meth:`subscribe` (a relay reader): two readers of
    one aiortc track would each get half of the frames. Local sources are relayed the
    same way, one proxy per connection, so a source can feed several connections.
    """

    def __init__(
        self, signaling: SignalingClient, sources: dict[MediaKind, MediaStreamTrack], owned: list[MediaStreamTrack]
    ) -> None:
        super().__init__()
        joined = signaling.joined
        self.peer_id: str = joined["peer_id"]
        self.room_id: str = joined["room_id"]
        self.identity: str = joined.get("identity", "")
        self.name: str = joined.get("name", "")
        self.role: Role = joined.get("role", "participant")
        self.call_id: str | None = joined.get("call_id")
        self.end_reason: EndReason | None = None
        self.error_code: str | None = None
        """Code of the fatal ``error`` frame that ended the session, e.g. ``session_replaced``."""
        self._signaling, self._sources, self._owned = signaling, sources, owned
        self._ice_servers = _ice_servers(joined.get("ice_servers") or [])
        self._relay = TrackRelay()
        self._remotes: dict[str, RemotePeer] = {}
        self._changed = asyncio.Event()
        self._closing = False
        for data in joined.get("peers") or []:  # we are the newcomer: impolite, we offer
            remote = self._remotes[str(data["peer_id"])] = RemotePeer(
                PeerInfo.from_frame(data), polite=False, owner=self
            )
            remote.reconnect()
        self._run_task = asyncio.create_task(self._run(), name=f"peer-{self.peer_id}")

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
    ) -> Peer:
        """Join the room named in ``token`` at ``url`` (http(s) base or ws(s) URL).

        Raises :class:`JoinRejected` (with the server's ``code``) or :class:`SignalingError`.
        """
        sources: dict[MediaKind, MediaStreamTrack] = {}
        owned: list[MediaStreamTrack] = []
        for kind, source in zip(_KINDS, (audio, video), strict=True):
            if isinstance(source, MediaStreamTrack):
                if source.kind != kind:
                    raise ValueError(f"{kind}= got a {source.kind} track")
                sources[kind] = source
            elif source:
                sources[kind] = SyntheticAudioTrack() if kind == "audio" else SyntheticVideoTrack()
                owned.append(sources[kind])
        signaling = await SignalingClient.connect(url, token, ssl=ssl, timeout=timeout)
        return cls(signaling, sources, owned)

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
        return self._signaling

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
        """Rebuild the connection to ``peer_id`` and offer on it (aiortc's ICE restart)."""
        self._remotes[peer_id].reconnect()

    async def leave(self, reason: LeaveReason = "hangup") -> None:
        """Hang up: tell the server, close every connection and the socket (idempotent)."""
        if not self._closing:
            with contextlib.suppress(SignalingError):  # already gone: nothing to tell
                await self._signaling.send({"type": "leave", "reason": reason})
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

    async def _send(self, frame: Frame) -> None:
        await self._signaling.send(frame)

    def _create_pc(self, remote: RemotePeer) -> RTCPeerConnection:
        # Always an explicit list: with None, aiortc falls back to Google's public STUN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self._ice_servers)))

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
        if state == remote.state:
            return
        logger.info("peer %s -> %s: %s -> %s", self.peer_id, remote.info.peer_id, remote.state, state)
        remote.state = state
        if state == "connected" and remote.connected_at is None:
            remote.connected_at = time.monotonic()
        self._notify()
        self.emit(PeerEvent.CONNECTION_STATE, remote.info.peer_id, state)

    async def _run(self) -> None:
        reason: EndReason = "disconnected"
        try:
            reason = await self._dispatch()
        finally:
            await self._shutdown(reason)

    async def _dispatch(self) -> EndReason:
        """Route inbound frames until the socket closes; returns why the session ended."""
        reason: EndReason = "disconnected"
        async for frame in self._signaling:
            if self._closing:  # leave() is tearing down: late frames must not create connections
                break
            kind = frame["type"]
            if kind in ("offer", "answer", "ice-candidate"):
                sender = str(frame.get("from"))
                remote = self._remotes.get(sender)
                if remote is None or not remote.present:  # not announced to us: treat as a newcomer
                    remote = self._remotes[sender] = RemotePeer(PeerInfo(sender), polite=True, owner=self)
                remote.post(frame)
            elif kind == "peer-joined":
                info = PeerInfo.from_frame(frame["peer"])
                self._remotes[info.peer_id] = RemotePeer(info, polite=True, owner=self)
                self._notify()
                self.emit(PeerEvent.PEER_JOINED, info)
            elif kind == "peer-left":
                if (remote := self._remotes.get(str(frame.get("peer_id")))) is not None:
                    await remote.close()
                    self._notify()
                    self.emit(PeerEvent.PEER_LEFT, remote.info.peer_id, str(frame.get("reason", "")))
            elif kind == "room-ended":
                return "room_ended"
            elif kind == "error":
                code, message, fatal = str(frame.get("code")), str(frame.get("message", "")), bool(frame.get("fatal"))
                logger.log(
                    logging.ERROR if fatal else logging.WARNING,
                    "server error %s: %s (ref %s)",
                    code,
                    message,
                    frame.get("ref"),
                )
                if fatal:
                    reason, self.error_code = "error", code
                self.emit(PeerEvent.SERVER_ERROR, code, message, fatal)
            else:
                logger.debug("ignoring a %s frame", kind)
        return reason

    async def _shutdown(self, reason: EndReason) -> None:
        if self._closing:
            return
        self._closing = True
        for remote in self._remotes.values():
            if remote.present:
                await remote.close()
        for track in self._owned:
            track.stop()
        await self._relay.aclose()
        await self._signaling.close()
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
