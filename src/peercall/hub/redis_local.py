"""This node's attached members of the Redis hub: frames from the node channel to their
sockets, each once and in order, including the ones pub/sub lost.

Why the catch-up: Redis pub/sub is fire-and-forget. Frames published while a node's
subscription is down (Redis restarting, the subscriber connection dropped for an output
buffer over its limit, a network blip) never arrive, though each is safe in its member's
replay ring. Without help the socket just misses them: its client sees no error and no
resume is triggered. So when the channel comes back, and whenever a member's numbered
frames skip a number, the member's ring is read and what it has not had is handed over
first (numbers at or below what the socket had are dropped, so nothing arrives twice).
When the ring no longer holds them either, the socket is closed as lost and its client
resumes (which reports the gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import orjson

from peercall.errors import PeercallError
from peercall.hub.base import Deliver, EncodedFrame, Frame, HubUnavailable
from peercall.hub.redis_codec import LocalAttachment

log = logging.getLogger(__name__)

# Frames that arrive for a (room, peer, epoch) before its socket is registered on this
# node (pub/sub can outrun the script's reply): kept briefly, then delivered in order.
PENDING_MAX = 256  # frames per attachment
PENDING_KEYS_MAX = 1024  # attachments (oldest dropped: e.g. an evict for a socket already gone)
# After the channel is back: let the re-subscription settle before reading the rings (a
# frame published in between arrives twice at worst, and is dropped by its number).
CATCH_UP_DELAY_S = 0.1

Key = tuple[str, str]
RingReader = Callable[[str, str], Awaitable[list[str]]]


class LocalSockets:
    """The (room, peer) → socket table of one node, fed by its channel's messages."""

    def __init__(self, read_ring: RingReader) -> None:
        self._read_ring = read_ring  # (room, peer) → the ring's wire texts, oldest first
        self._local: dict[Key, LocalAttachment] = {}
        self._pending: OrderedDict[tuple[str, str, int], list[Frame]] = OrderedDict()
        self._catching: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def rooms(self) -> set[str]:
        return {room_id for room_id, _ in self._local}

    def epochs_in(self, room_id: str) -> list[tuple[Key, int]]:
        return [(key, local.epoch) for key, local in self._local.items() if key[0] == room_id]

    def dispatch(self, data: str) -> None:
        """One node-channel message: ``room \\n peer \\n epoch \\n frame-json``."""
        room_id, peer_id, epoch_text, body = data.split("\n", 3)
        frame: Frame = EncodedFrame(orjson.loads(body), body)  # sent as it came: not encoded again
        epoch = int(epoch_text)
        local = self._local.get((room_id, peer_id))
        if local is not None and local.epoch == epoch:
            self._hand((room_id, peer_id), local, frame)
        elif local is None or epoch > local.epoch:  # its socket registers in a moment
            pending = self._pending.setdefault((room_id, peer_id, epoch), [])
            if len(pending) < PENDING_MAX:
                pending.append(frame)
            while len(self._pending) > PENDING_KEYS_MAX:
                self._pending.popitem(last=False)
        # else: for a socket this node already replaced: nobody to tell

    def _hand(self, key: Key, local: LocalAttachment, frame: Frame) -> None:
        seq = frame.get("seq")
        if isinstance(seq, int):
            if seq <= local.seq:
                return  # already handed (replayed, or caught up)
            if seq > local.seq + 1:  # pub/sub lost the ones between: they are in the ring
                self.catch_up([key])
                return
            local.seq = seq
        local.deliver(frame)

    def attach(self, room_id: str, peer_id: str, epoch: int, deliver: Deliver, seq: int) -> None:
        key = (room_id, peer_id)
        local = self._local[key] = LocalAttachment(epoch, deliver, seq)
        for frame in self._pending.pop((room_id, peer_id, epoch), []):
            self._hand(key, local, frame)
        # Frames for older attachments will never be claimed.
        for stale in [k for k in self._pending if k[:2] == key and k[2] < epoch]:
            del self._pending[stale]

    def detach(self, room_id: str, peer_id: str, epoch: int | None = None) -> None:
        local = self._local.get((room_id, peer_id))
        if local is not None and (epoch is None or local.epoch == epoch):
            del self._local[(room_id, peer_id)]

    def catch_up(self, keys: list[Key] | None = None, delay: float = 0.0) -> None:
        """Hand ``keys``' (default: every member's) frames from their rings, in a task."""
        wanted = [key for key in (self._local if keys is None else keys) if key not in self._catching]
        if not wanted:
            return
        self._catching.update(wanted)
        task = asyncio.get_running_loop().create_task(self._catch_up(wanted, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, keys: list[Key], delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            for key in keys:
                self._catching.discard(key)  # a gap found from here on needs a read of its own
                if key not in self._local:
                    continue
                try:
                    texts = await self._read_ring(*key)
                except HubUnavailable as exc:  # the channel's listener will ask again when Redis is back
                    log.warning("redis hub: catch-up failed", extra={"error": str(exc)})
                    continue
                local = self._local.get(key)
                if local is None:
                    continue
                for text in texts:
                    frame = EncodedFrame(orjson.loads(text), text)
                    seq = frame.get("seq")
                    if not isinstance(seq, int) or seq <= local.seq:
                        continue
                    if seq > local.seq + 1:  # the ring no longer has the missing ones
                        self._hole(key, local)
                        break
                    local.seq = seq
                    local.deliver(frame)
        finally:
            self._catching.difference_update(keys)

    def _hole(self, key: Key, local: LocalAttachment) -> None:
        """Frames this socket missed are gone from the ring too (more than it holds were
        published meanwhile): go on and the client would never know. Its socket is closed
        as a lost one instead; the client resumes and hears of the gap (``replay_gap``)."""
        log.warning("redis hub: frames lost beyond the replay ring; the socket must resume")
        self.detach(*key, epoch=local.epoch)
        lost = PeercallError("hub_unavailable", "signaling frames were lost on the server's backplane; resume")
        local.deliver(lost.to_frame())  # a lost socket's error: the member stays

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
