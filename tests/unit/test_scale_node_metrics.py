"""A node's room gauges come from its own sessions and grace timers, never from the hub:
asking a shared hub about every room of the cluster at each scrape was O(rooms) Redis
round trips per node (and counted the whole cluster under "on this node")."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from peercall.observability.metrics import Metrics
from peercall.observability.server_metrics import ServerMetrics
from peercall.signaling.session import SessionState


def gauge(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_scale_node_metrics_count_this_nodes_sessions_only() -> None:
    metrics = Metrics(process=False)
    server = ServerMetrics(metrics)
    sessions = [
        SimpleNamespace(state=SessionState.JOINED, room_id="r1"),
        SimpleNamespace(state=SessionState.JOINED, room_id="r1"),
        SimpleNamespace(state=SessionState.JOINED, room_id="r2"),
        SimpleNamespace(state=SessionState.AWAITING_JOIN, room_id=None),
    ]
    rooms: Any = SimpleNamespace(call_id=lambda room_id: "call_1" if room_id == "r1" else None)
    server.refresh(sessions, rooms, {("r3", "p_away")})  # type: ignore[arg-type]
    text = metrics.render()[0].decode()
    assert gauge(text, "peercall_signaling_connections") == 4
    assert gauge(text, "peercall_rooms_active") == 3  # r1, r2 and r3 (a suspended member's)
    assert gauge(text, "peercall_room_members") == 4  # three joined sockets and one in its grace period
    assert gauge(text, "peercall_calls_active") == 1
