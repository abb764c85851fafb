"""Server metrics of one node: connections, rooms, calls, signaling messages and errors.

Counters are bumped on the signaling path (frames in, frames out, error frames by code);
gauges of live state are read from the services just before each scrape
(:meth:`ServerMetrics.refresh`), so nothing has to remember to decrement them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from peercall.hub.base import Deliver, Frame
from peercall.observability.metrics import Metrics
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionState, SignalingSession


class ServerMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self._connections = metrics.gauge("signaling_connections", "Open signaling WebSocket connections")
        self._rooms = metrics.gauge("rooms_active", "Rooms with at least one member on this node")
        self._members = metrics.gauge("room_members", "Members in rooms on this node (suspended included)")
        self._calls = metrics.gauge("calls_active", "Call sessions in progress on this node")
        self._messages = metrics.counter("signaling_messages", "Signaling frames, by direction", ("direction",))
        self._errors = metrics.counter("signaling_errors", "Error frames sent to clients, by code", ("code",))
        # Bound once: labels() per frame was ~19 % of a node's CPU under relay load.
        self._in, self._out = self._messages.labels("in"), self._messages.labels("out")
        # Frames are counted in plain ints and added to the counters before each scrape
        # (refresh): the counters' lock per frame was ~4.5 % of a node's CPU under relay load.
        self._pending_in = self._pending_out = 0

    def frame_in(self) -> None:
        self._pending_in += 1

    def frame_out(self, frame: Frame) -> None:
        """Count one outgoing frame (and its error code, for an error frame)."""
        self._pending_out += 1
        if frame.get("type") == "error":
            self._errors.labels(str(frame.get("code", "unknown"))[:40]).inc()

    def counting(self, deliver: Deliver) -> Deliver:
        """Wrap a connection's deliver callable so every outgoing frame (and error) is counted."""

        def counted(frame: Frame) -> Any:
            self.frame_out(frame)
            return deliver(frame)

        return counted

    def flush(self) -> None:
        """Add the frames counted since the last flush to the Prometheus counters."""
        pending_in, pending_out = self._pending_in, self._pending_out
        self._pending_in = self._pending_out = 0
        self._in.inc(pending_in)
        self._out.inc(pending_out)

    def refresh(
        self, sessions: Iterable[SignalingSession], rooms: RoomService, suspended: Collection[tuple[str, str]]
    ) -> None:
        """Read the gauges from this node's own state (no hub round trip: asking the hub
        about every room of the cluster at each scrape was O(rooms) Redis calls per node).
        ``suspended``: (room, peer) of the members whose grace timer this node runs."""
        self.flush()
        connections, members, room_ids = 0, 0, {room_id for room_id, _ in suspended}
        for session in sessions:
            connections += 1
            if session.state is SessionState.JOINED and session.room_id is not None:
                members += 1
                room_ids.add(session.room_id)
        self._connections.set(connections)
        self._rooms.set(len(room_ids))
        self._members.set(members + len(suspended))
        self._calls.set(sum(1 for room_id in room_ids if rooms.call_id(room_id) is not None))
