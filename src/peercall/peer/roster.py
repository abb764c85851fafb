"""The other members of the call, by peer id, and how inbound frames change them.

Besides ``peer-joined``/``peer-left`` this is where reconnection meets the connections:

* ``peer-reconnecting`` / ``peer-resumed``: a member's signaling dropped / came back; its
  connection is untouched (media is peer to peer).
* We *resumed*: nothing to do, the replay brings what we missed — unless frames were lost
  (``replay_gap``): then the member list is reconciled and every connection renegotiated.
* We *rejoined* (new peer id, e.g. after a server restart): a connection that still works
  is kept and re-keyed, by identity, to the member's new id; the others are rebuilt (we
  are the newcomer: we offer). Members not back yet keep their connection while it works.
* ``peer-joined`` for an identity we know with a working connection: that member rejoined;
  re-key, do not renegotiate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .reconnect import SessionChange
from .remote_peer import ConnectionState, RemotePeer
from .snapshots import answer_request as answer_snapshot_request
from .wire import Frame, PeerEvent, PeerInfo

if TYPE_CHECKING:
    from .peer import Peer

__all__ = ["Roster"]

logger = logging.getLogger(__name__)


class Roster:
    def __init__(self, peer: Peer) -> None:
        self._peer = peer
        self.remotes: dict[str, RemotePeer] = {}
        """Every member we talked to; a departed one is kept (``present`` False) for its stats."""
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """The call is over: close every connection."""
        for task in list(self._tasks):
            task.cancel()
        for remote in list(self.remotes.values()):
            if remote.present:
                await remote.close()

    def add(self, info: PeerInfo, *, polite: bool) -> RemotePeer:
        remote = RemotePeer(info, polite=polite, owner=self._peer, recovery=self._peer._recovery_policy)
        self.remotes[info.peer_id] = remote
        return remote

    def by_identity(self, identity: str) -> RemotePeer | None:
        if identity:
            for remote in self.remotes.values():
                if remote.present and remote.info.identity == identity:
                    return remote
        return None

    def rekey(self, remote: RemotePeer, info: PeerInfo) -> str:
        """Address an existing connection to the member's new id; returns the old id."""
        old = remote.info.peer_id
        if self.remotes.get(old) is remote:
            del self.remotes[old]
        remote.info, remote.stale, remote.reconnecting = info, False, False
        self.remotes[info.peer_id] = remote
        logger.info(
            "peer %s: member %s -> %s (%s), connection kept", self._peer.peer_id, old, info.peer_id, info.identity
        )
        return old

    async def drop(self, remote: RemotePeer, reason: str) -> None:
        """Close the connection to a member that left (idempotent)."""
        if not remote.present:
            return
        await remote.close()
        self._peer._notify()
        self._peer.emit(PeerEvent.PEER_LEFT, remote.info.peer_id, reason)

    def on_state(self, remote: RemotePeer, state: ConnectionState) -> None:
        """A member's current connection changed state (recover it if it failed)."""
        if state == remote.state:
            return
        logger.info("peer %s -> %s: %s -> %s", self._peer.peer_id, remote.info.peer_id, remote.state, state)
        remote.state = state
        if state == "connected" and remote.connected_at is None:
            remote.connected_at = time.monotonic()
        self._peer._notify()
        self._peer.emit(PeerEvent.CONNECTION_STATE, remote.info.peer_id, state)
        if not remote.present or state not in ("failed", "closed"):
            return
        if remote.stale:  # not in the room as far as the server knows: nothing to renegotiate with
            self.spawn(self.drop(remote, "disconnected"))
        else:  # `closed` too: we did not close it (see recovery.py)
            remote.recovery.on_broken(state)

    async def route(self, item: Frame | SessionChange) -> bool:
        """Handle one inbound frame or session change; True when the room ended."""
        peer = self._peer
        if isinstance(item, SessionChange):
            if item.kind == "lost":
                peer.emit(PeerEvent.RECONNECTING, item.cause)
                return False
            assert item.frame is not None
            peer._adopt(item.frame)
            await (self.on_resumed if item.kind == "resumed" else self.on_rejoined)(item.frame)
            peer.emit(PeerEvent.RECONNECTED, item.kind == "resumed")
            return False
        kind = item["type"]
        if kind in ("offer", "answer", "ice-candidate"):
            sender = str(item.get("from"))
            remote = self.remotes.get(sender)
            if remote is None or not remote.present:  # not announced to us: treat as a newcomer
                remote = self.add(PeerInfo(sender), polite=True)
            remote.post(item)
        elif kind in ("peer-joined", "peer-left", "peer-reconnecting", "peer-resumed"):
            await self.on_frame(item)
        elif kind == "error":
            code, message, fatal = str(item.get("code")), str(item.get("message", "")), bool(item.get("fatal"))
            level = logging.ERROR if fatal else logging.WARNING
            logger.log(level, "server error %s: %s (ref %s)", code, message, item.get("ref"))
            peer.emit(PeerEvent.SERVER_ERROR, code, message, fatal)
        elif kind == "snapshot-request" and peer._dialer is not None:
            self.spawn(answer_snapshot_request(peer, item, peer._dialer))
        elif kind != "room-ended":
            logger.debug("ignoring a %s frame", kind)
        return kind == "room-ended"

    async def on_frame(self, frame: Frame) -> None:
        kind, peer_id = frame["type"], str(frame.get("peer_id"))
        if kind == "peer-joined":
            await self._joined(PeerInfo.from_frame(frame["peer"]))
        elif (remote := self.remotes.get(peer_id)) is None or not remote.present:
            logger.debug("%s for unknown member %s", kind, peer_id)
        elif kind == "peer-left":
            await self.drop(remote, str(frame.get("reason", "")))
        elif kind in ("peer-reconnecting", "peer-resumed"):
            remote.reconnecting = kind == "peer-reconnecting"
            logger.info("peer %s: member %s %s", self._peer.peer_id, peer_id, kind.removeprefix("peer-"))
            if remote.reconnecting:
                self._peer.emit(PeerEvent.PEER_RECONNECTING, peer_id)
            else:
                self._peer.emit(PeerEvent.PEER_RECONNECTED, peer_id, peer_id)

    async def _joined(self, info: PeerInfo) -> None:
        known = self.by_identity(info.identity)
        if known is not None and known.info.peer_id != info.peer_id and known.state == "connected":
            old = self.rekey(known, info)  # the same person, back under a new id: keep the media flowing
            self._peer._notify()
            self._peer.emit(PeerEvent.PEER_RECONNECTED, info.peer_id, old)
            return
        if known is not None:
            await self.drop(known, "replaced")
        self.add(info, polite=True)  # the newcomer offers
        self._peer._notify()
        self._peer.emit(PeerEvent.PEER_JOINED, info)

    async def on_resumed(self, session: Frame) -> None:
        if not session.get("replay_gap"):
            return  # the replay that follows brings every frame we missed, in order
        logger.warning("peer %s: frames were lost while away; renegotiating", self._peer.peer_id)
        listed = _infos(session.get("peers"))
        for remote in list(self.remotes.values()):
            if remote.present and remote.info.peer_id not in listed:
                await self.drop(remote, "disconnected")
        for peer_id, info in listed.items():
            known = self.remotes.get(peer_id)
            remote = known if known is not None and known.present else self.add(info, polite=False)
            if remote is not known:
                self._peer.emit(PeerEvent.PEER_JOINED, info)
            remote.reconnect(reset=True)  # aiortc renegotiates with a new connection
        self._peer._notify()

    async def on_rejoined(self, session: Frame) -> None:
        listed = _infos(session.get("peers"))
        matched: set[int] = set()
        for info in listed.values():
            known = self.by_identity(info.identity) or self.remotes.get(info.peer_id)
            if known is not None and known.present and known.state == "connected":
                old = self.rekey(known, info)
                matched.add(id(known))
                self._peer.emit(PeerEvent.PEER_RECONNECTED, info.peer_id, old)
                continue
            if known is not None and known.present:
                await self.drop(known, "replaced")
            remote = self.add(info, polite=False)  # we are the newcomer: we offer
            matched.add(id(remote))
            remote.reconnect(reset=known is not None)  # reset: they may still hold a connection to us
            self._peer.emit(PeerEvent.PEER_JOINED, info)
        for remote in self.remotes.values():
            if remote.present and id(remote) not in matched:
                remote.stale = True  # not back (yet): keep its connection while it works
                if remote.state != "connected":
                    self.spawn(self.drop(remote, "disconnected"))
        self._peer._notify()


def _infos(peers: Any) -> dict[str, PeerInfo]:
    return {info.peer_id: info for info in map(PeerInfo.from_frame, peers or [])}
