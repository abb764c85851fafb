"""One other member of the call and the aiortc connection that currently carries media with it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from .media import ReceiveStats
from .signaling_client import Frame, PeerError, PeerInfo

if TYPE_CHECKING:
    from .peer import Peer

logger = logging.getLogger(__name__)

ConnectionState = Literal["new", "connecting", "connected", "failed", "closed"]
"""RTCPeerConnection.connectionState as aiortc reports it (it has no ``disconnected``)."""
EndReason = Literal["left", "room_ended", "error", "disconnected"]
LeaveReason = Literal["hangup", "navigate", "error"]
MediaKind = Literal["audio", "video"]
MediaSource: TypeAlias = bool | MediaStreamTrack | None
"""True: a synthetic track; a track: send it; False/None: receive only."""
_KINDS: tuple[MediaKind, ...] = ("audio", "video")
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


class PeerEvent(StrEnum):
    """Events emitted by :class:`Peer` (pyee), with their handler arguments."""

    PEER_JOINED = "peer-joined"  # (info: PeerInfo)
    PEER_LEFT = "peer-left"  # (peer_id: str, reason: str)
    CONNECTION_STATE = "connectionstatechange"  # (peer_id: str, state: ConnectionState)
    TRACK = "track"  # (peer_id: str, track: MediaStreamTrack) -- a relay subscription, read freely
    SERVER_ERROR = "server-error"  # (code: str, message: str, fatal: bool)
    CLOSED = "closed"  # (reason: EndReason)


class PeerClosed(PeerError):
    """The Peer ended (left, room ended, server error, socket lost) while a wait was pending."""


class RemotePeer:
    """One other member and the connection currently carrying media with it.

    Its frames are handled one at a time by its own worker, so an offer is applied before
    the candidates that follow it, and a slow negotiation never holds up other members.
    """

    def __init__(self, info: PeerInfo, *, polite: bool, owner: Peer) -> None:
        self.info, self.polite = info, polite
        self.pc: RTCPeerConnection | None = None
        self.state: ConnectionState = "new"
        self.present = True
        self.stats = ReceiveStats()
        self.tracks: dict[str, MediaStreamTrack] = {}
        """The latest received track of each kind (read it via :meth:`Peer.subscribe`)."""
        self.connected_at: float | None = None
        """``time.monotonic()`` of the first ``connected``."""
        self._owner = owner
        self._pending: list[tuple[RTCIceCandidate | None, str | None]] = []
        self._inbox: asyncio.Queue[Frame | None] = asyncio.Queue()  # None: reconnect
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker = asyncio.create_task(self._work(), name=f"remote-{info.peer_id}")

    def post(self, frame: Frame) -> None:
        """Queue a relayed ``offer``, ``answer`` or ``ice-candidate``."""
        self._inbox.put_nowait(frame)

    def reconnect(self) -> None:
        """Queue building a new connection and offering on it."""
        self._inbox.put_nowait(None)

    async def replace_pc(self) -> RTCPeerConnection:
        """Swap in a new connection and close the old one (its events are ignored from now on)."""
        old, self.pc = self.pc, self._owner._create_pc(self)
        self._owner._on_state(self, "new")
        if old is not None:
            await old.close()
        return self.pc

    async def close(self) -> None:
        self.present = False
        tasks = [self._worker, *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not asyncio.current_task()), return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
            self._owner._on_state(self, "closed")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            frame = await self._inbox.get()
            try:
                await self._handle(frame)
            except Exception:  # one bad SDP or candidate must not kill the peer
                logger.exception("peer %s: cannot handle %s", self.info.peer_id, frame and frame.get("type"))

    async def _handle(self, frame: Frame | None) -> None:
        if frame is None:
            fresh = await self.replace_pc()
            self._owner._attach_media(fresh, offering=True)
            await self._describe(fresh, "offer")
        elif frame["type"] == "offer":
            await self._on_offer(str(frame["sdp"]))
        elif frame["type"] == "answer":
            await self._on_answer(str(frame["sdp"]))
        elif frame["type"] == "ice-candidate":
            await self._on_candidate(frame.get("candidate"))

    async def _describe(self, pc: RTCPeerConnection, kind: Literal["offer", "answer"]) -> None:
        """Create and apply the local description (this gathers every candidate), then send it."""
        await pc.setLocalDescription(await (pc.createOffer() if kind == "offer" else pc.createAnswer()))
        await self._owner._send({"type": kind, "to": self.info.peer_id, "sdp": pc.localDescription.sdp})

    async def _on_offer(self, sdp: str) -> None:
        pc = self.pc
        collision = pc is not None and pc.signalingState != "stable"
        if collision and not self.polite:
            logger.info("peer %s: ignoring colliding offer (impolite)", self.info.peer_id)
            return
        restart = (
            pc is not None and pc.remoteDescription is not None and _ufrag(pc.remoteDescription.sdp) != _ufrag(sdp)
        )
        if pc is None or collision or restart or pc.connectionState in ("failed", "closed"):
            if pc is not None:  # glare without rollback, an ICE restart, or a dead connection
                why = "collision" if collision else "ice restart" if restart else pc.connectionState
                logger.info("peer %s: replacing the connection (%s)", self.info.peer_id, why)
            pc = await self.replace_pc()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not any(sender.track for sender in pc.getSenders()):
            self._owner._attach_media(pc, offering=False)  # after the offer: reuse its transceivers
        await self._flush(pc)
        await self._describe(pc, "answer")

    async def _on_answer(self, sdp: str) -> None:
        pc = self.pc
        if pc is None or pc.signalingState != "have-local-offer":
            logger.warning("peer %s: ignoring answer in state %s", self.info.peer_id, pc and pc.signalingState)
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await self._flush(pc)

    async def _on_candidate(self, data: dict[str, Any] | None) -> None:
        candidate: RTCIceCandidate | None = None
        if data and data.get("candidate"):  # null or "" is end-of-candidates
            text = str(data["candidate"])
            candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
            candidate.sdpMid, candidate.sdpMLineIndex = data.get("sdpMid"), data.get("sdpMLineIndex")
            if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
                candidate.sdpMLineIndex = 0  # bundled: every m-line shares the first transport
        ufrag = data.get("usernameFragment") if data else None
        if self.pc is None or self.pc.remoteDescription is None:
            self._pending.append((candidate, ufrag))  # before the description: buffer (protocol rule)
        else:
            await self._add_candidate(self.pc, candidate, ufrag)

    async def _flush(self, pc: RTCPeerConnection) -> None:
        pending, self._pending = self._pending, []
        for candidate, ufrag in pending:
            await self._add_candidate(pc, candidate, ufrag)

    async def _add_candidate(self, pc: RTCPeerConnection, candidate: RTCIceCandidate | None, ufrag: str | None) -> None:
        if ufrag and ufrag != _ufrag(pc.remoteDescription.sdp):
            logger.debug("peer %s: dropping a candidate of another ICE generation", self.info.peer_id)
            return
        # None (end-of-candidates) lets aioice report failure once every pair failed, instead
        # of waiting forever; aiortc hands it to each transport once and ignores later ones.
        await pc.addIceCandidate(candidate)


def _ufrag(sdp: str) -> str | None:
    match = _UFRAG.search(sdp)
    return match.group(1) if match else None
