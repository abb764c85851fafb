"""One other member of the call and the aiortc connection that currently carries media with it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from .media import MediaKind, ReceiveStats
from .reconnect import EndReason as EndReason  # re-exported: it used to be defined here
from .recovery import MediaRecovery, MediaRecoveryPolicy
from .wire import Frame, PeerClosed, PeerError, PeerEvent, PeerInfo

__all__ = ["ConnectionState", "EndReason", "MediaSource", "PeerClosed", "PeerEvent", "RemotePeer"]

if TYPE_CHECKING:
    from .peer import Peer

logger = logging.getLogger(__name__)

ConnectionState = Literal["new", "connecting", "connected", "failed", "closed"]
"""RTCPeerConnection.connectionState as aiortc reports it (it has no ``disconnected``)."""
LeaveReason = Literal["hangup", "navigate", "error"]
MediaSource: TypeAlias = bool | MediaStreamTrack | None
"""True: a synthetic track; a track: send it; False/None: receive only."""
_KINDS: tuple[MediaKind, ...] = ("audio", "video")
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


class RemotePeer:
    """One other member and the connection currently carrying media with it.

    Its frames are handled one at a time by its own worker, so an offer is applied before
    the candidates that follow it, and a slow negotiation never holds up other members.
    ``info`` changes when the member comes back under a new peer id (re-keyed by identity).
    """

    def __init__(
        self, info: PeerInfo, *, polite: bool, owner: Peer, recovery: MediaRecoveryPolicy | None = None
    ) -> None:
        self.info, self.polite, self.owner = info, polite, owner
        self.pc: RTCPeerConnection | None = None
        self.state: ConnectionState = "new"
        self.generation = 0
        """How many connections this member has had (each replacement counts)."""
        self.present = True
        self.reconnecting = False
        """The member's signaling socket is down (``peer-reconnecting``); media may still flow."""
        self.stale = False
        """We joined again and the member has not (yet): kept while its connection works."""
        self.recovery = MediaRecovery(self, recovery or MediaRecoveryPolicy())
        self.stats = ReceiveStats()
        self.tracks: dict[str, MediaStreamTrack] = {}
        """The latest received track of each kind (read it via :meth:`Peer.subscribe`)."""
        self.connected_at: float | None = None
        """``time.monotonic()`` of the first ``connected``."""
        self._pending: list[tuple[RTCIceCandidate | None, str | None]] = []
        self._inbox: asyncio.Queue[Frame | bool] = asyncio.Queue()  # a bool: reconnect (with reset)
        self._queued_reconnects = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker = asyncio.create_task(self._work(), name=f"remote-{info.peer_id}")

    def post(self, frame: Frame) -> None:
        """Queue a relayed ``offer``, ``answer`` or ``ice-candidate``."""
        self._inbox.put_nowait(frame)

    def reconnect(self, *, reset: bool = False) -> None:
        """Queue building a new connection and offering on it; ``reset`` tells the other
        side to replace its connection too (recovery), instead of treating it as a newcomer's."""
        self._queued_reconnects += 1
        self._inbox.put_nowait(reset)

    async def replace_pc(self) -> RTCPeerConnection:
        """Swap in a new connection and close the old one (its events are ignored from now on)."""
        old, self.pc = self.pc, self.owner._create_pc(self)
        self.generation += 1
        self.owner._on_state(self, "new")
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
            self.owner._on_state(self, "closed")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a task that lives as long as this member (cancelled by :meth:`close`)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _work(self) -> None:
        while True:
            frame = await self._inbox.get()
            try:
                await self._handle(frame)
            except PeerError as exc:  # e.g. signaling did not come back in time
                logger.warning("peer %s: %s not sent: %s", self.info.peer_id, _kind(frame), exc)
            except Exception:  # one bad SDP or candidate must not kill the peer
                logger.exception("peer %s: cannot handle %s", self.info.peer_id, _kind(frame))

    async def _handle(self, frame: Frame | bool) -> None:
        if isinstance(frame, bool):
            self._queued_reconnects -= 1
            fresh = await self.replace_pc()
            self.owner._attach_media(fresh, offering=True)
            await self._describe(fresh, "offer", reset=frame)
        elif frame["type"] == "offer":
            await self._on_offer(str(frame["sdp"]), reset=frame.get("reset") is True)
        elif frame["type"] == "answer":
            await self._on_answer(str(frame["sdp"]))
        elif frame["type"] == "ice-candidate":
            await self._on_candidate(frame.get("candidate"))

    async def _describe(self, pc: RTCPeerConnection, kind: Literal["offer", "answer"], *, reset: bool = False) -> None:
        """Create and apply the local description (this gathers every candidate), then send it.

        While signaling is reconnecting the send waits; a description that became obsolete
        meanwhile (its connection replaced, or a replacement queued) is not sent at all."""
        await pc.setLocalDescription(await (pc.createOffer() if kind == "offer" else pc.createAnswer()))
        frame: Frame = {"type": kind, "sdp": pc.localDescription.sdp}
        if reset:
            frame["reset"] = True

        def current() -> bool:
            return pc is self.pc and not (kind == "offer" and self._queued_reconnects)

        await self.owner._send_to(self, frame, current=current)

    async def _on_offer(self, sdp: str, *, reset: bool = False) -> None:
        pc = self.pc
        # Glare: we are negotiating too. A closed connection (the other side closed it, aiortc
        # then reports signalingState "closed") is not negotiating: it is simply replaced.
        collision = pc is not None and pc.signalingState not in ("stable", "closed")
        if collision and not self.polite:
            logger.info("peer %s: ignoring colliding offer (impolite)", self.info.peer_id)
            return
        restart = (
            pc is not None and pc.remoteDescription is not None and _ufrag(pc.remoteDescription.sdp) != _ufrag(sdp)
        )
        if pc is None or collision or restart or reset or pc.connectionState in ("failed", "closed"):
            if pc is not None:  # glare without rollback, an ICE restart, a reset, or a dead connection
                why = (
                    "collision" if collision else "reset" if reset else "ice restart" if restart else pc.connectionState
                )
                logger.info("peer %s: replacing the connection (%s)", self.info.peer_id, why)
            pc = await self.replace_pc()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not any(sender.track for sender in pc.getSenders()):
            self.owner._attach_media(pc, offering=False)  # after the offer: reuse its transceivers
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


def _kind(frame: Frame | bool) -> str:
    return "offer" if isinstance(frame, bool) else str(frame.get("type"))


def _ufrag(sdp: str) -> str | None:
    match = _UFRAG.search(sdp)
    return match.group(1) if match else None
