"""Node loss and node drain on a Redis cluster, and the same signaling load on 3 nodes vs 1.

Phases, in one invocation (servers, Redis and load generators are separate processes):

1. **drain**: N clients (rooms of two) on node A of a 2-node cluster, sending a frame to
   their partner every second; ``SIGTERM`` A. Figures: ``drain_all_ms`` (signal → last
   client resumed on B), ``drain_exit_ms`` (signal → A exited), ``drain_gap_p50_ms`` /
   ``drain_gap_p99_ms`` (one client's socket closed → resumed), ``drain_lost`` (frames sent
   and never received + sessions not resumed). Must be 0.
2. **storm**: a fresh node C joins; ``SIGKILL`` B (where the clients are now): every client
   resumes on C at once. ``storm_resume_p50_ms`` / ``storm_resume_p99_ms`` /
   ``storm_resume_all_ms`` (kill → resumed), ``lost`` (sessions not resumed + frames sent after
   the storm and never received; the traffic pauses before the kill, as frames in flight
   inside a killed process are gone by definition). ``redis_cmds_per_resume``.
   Before the kill: ``ring_frames_per_member`` / ``ring_frames_max`` (frames kept for a
   resume once every client acknowledged what it saw with its keepalive `ping`),
   ``redis_bytes_per_session`` and ``redis_bytes_per_ring_frame``.
3. **scaling**: bench/signaling_load.py's load (pairs split across nodes) on 1 node + Redis,
   then 3 nodes + Redis. ``scaling_factor`` = relayed msgs/s on 3 nodes / on 1 node, with an
   offered load that saturates one node. The machine's core count is in ``cpus``: 3 nodes
   cannot use more cores than there are (the load generators need some too).

The clients reconnect straight to the surviving node's URL (a balancer that already
dropped the dead node); the SDKs do the same through the balancer's address.

    python bench/reconnect_storm.py [--clients N] [--quick] [--json] [--no-scaling]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import redis  # noqa: E402
import websockets  # noqa: E402
from load_clients import PADDING, _open_peercall, rss_kib, run_load  # noqa: E402
from signaling_load import LIFTED_LIMITS, peercall_pairs  # noqa: E402

from peercall.testing.redis_server import RedisServer, start_redis  # noqa: E402
from peercall.testing.server import ServerProcess, start_server, stop_server  # noqa: E402

ERRORS: dict[str, int] = {}
"""Error frames, refused resumes and failed connects seen by the clients, by kind."""


def _count(kind: str) -> None:
    ERRORS[kind] = ERRORS.get(kind, 0) + 1


RETRY_DELAYS_S = (0.0, 0.25, 0.5, 1.0, 2.0)  # the SDKs' schedule, with their ±20 % jitter below
ACK_ROUND_S = 6.0  # one keepalive round (5 s) and a margin: every client has acked what it saw
_ATTEMPTS = itertools.count(1)


def ws_url(node: ServerProcess) -> str:
    return node.base_url.replace("http", "ws", 1) + "/ws"


@dataclass
class Member:
    token: str
    ws: Any = None
    peer_id: str = ""
    partner: str = ""
    resume_token: str = ""
    last_seq: int = 0
    sent: int = 0
    received: set[str] = field(default_factory=set)
    lost_at: float | None = None
    resumed_at: float | None = None
    failed: str | None = None  # why the session could not be resumed
    moving: asyncio.Task[None] | None = None


class Cluster:
    """The nodes, Redis, and where a client goes when its node is gone."""

    def __init__(self, tmp: Path, window_s: float) -> None:
        self.tmp, self.secret = tmp, secrets.token_urlsafe(48)
        self.redis: RedisServer = start_redis(tmp / "redis")
        self.env = {
            **LIFTED_LIMITS,
            "PEERCALL_TOKEN_SECRET": self.secret,
            "PEERCALL_REDIS_URL": self.redis.url,
            "PEERCALL_DATA_DIR": str(tmp / "shared"),
            "PEERCALL_NODE_HEARTBEAT_S": "2",
            "PEERCALL_RESUME_GRACE_S": "120",
            "PEERCALL_DRAIN_TIMEOUT_S": "120",
            "PEERCALL_DRAIN_WINDOW_S": str(window_s),
        }
        self.nodes: list[ServerProcess] = []
        self.target = ""  # the URL a client whose socket dropped resumes on

    def start_node(self) -> ServerProcess:
        path = self.tmp / f"node{len(self.nodes)}"
        path.mkdir()
        node = start_server(path, extra_env=self.env)
        self.nodes.append(node)
        return node

    def redis_commands(self) -> int:
        with contextlib.closing(redis.Redis.from_url(self.redis.url)) as client:
            return int(client.info("stats")["total_commands_processed"])

    def ring_lengths(self) -> list[int]:
        """Frames in every member's replay ring (what acknowledgements have not freed yet)."""
        with contextlib.closing(redis.Redis.from_url(self.redis.url)) as client:
            keys = list(client.scan_iter(match="*:ring:*", count=1000))
            pipe = client.pipeline()
            for key in keys:
                pipe.llen(key)
            return [int(n) for n in pipe.execute()]

    def redis_memory(self) -> int:
        with contextlib.closing(redis.Redis.from_url(self.redis.url)) as client:
            return int(client.info("memory")["used_memory"])

    def close(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                stop_server(node)
        self.redis.stop()


# ---- one client ------------------------------------------------------------------------
def _on_frame(member: Member, frame: dict[str, Any], window_ms: list[int]) -> None:
    seq = frame.get("seq")
    if isinstance(seq, int):
        if seq <= member.last_seq:
            return
        member.last_seq = seq
    kind = frame.get("type")
    if kind == "error":
        _count(f"error:{frame.get('code')}")
    if kind == "ice-candidate":
        member.received.add(str(frame["candidate"]["usernameFragment"]))
    elif kind == "drain" and member.moving is None:
        window_ms.append(int(frame.get("reconnect_within_ms", 0)))
        member.moving = asyncio.create_task(_move(member, random.uniform(0, window_ms[-1] / 1000)))


async def _move(member: Member, delay: float) -> None:
    """Leave a draining node after the drain frame's random delay (as the SDKs do)."""
    await asyncio.sleep(delay)
    member.lost_at = time.monotonic()
    await member.ws.close()


async def _resume(member: Member, url: str) -> None:
    started = time.monotonic()
    for attempt in range(1, 1000):
        await asyncio.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S)) - 1] * random.uniform(0.8, 1.2))
        if time.monotonic() - started > 60:
            member.failed = "gave up"
            return
        try:
            ws = await websockets.connect(url, max_size=2**20, open_timeout=10, ping_interval=None)
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            _count(f"connect:{type(exc).__name__}")
            continue
        hello = {
            "type": "resume",
            "v": 1,
            "resume_token": member.resume_token,
            "last_seq": member.last_seq,
            "attempt": next(_ATTEMPTS),  # increasing, like the SDKs: a late abandoned attempt is refused
        }
        try:
            await ws.send(json.dumps(hello))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except (websockets.ConnectionClosed, TimeoutError):
            await ws.close()
            continue
        if first.get("type") == "resumed":
            member.ws, member.resume_token = ws, first["resume_token"]
            member.resumed_at = time.monotonic()
            if first.get("replay_gap"):
                member.failed = "replay_gap"
            return
        await ws.close()
        _count(f"refused:{first.get('code')}")
        if first.get("code") not in ("draining", "internal", "server_busy"):
            member.failed = str(first.get("code"))  # resume_failed / session_expired: the session is gone
            return


async def _run_member(member: Member, cluster: Cluster, window_ms: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in member.ws:
                _on_frame(member, json.loads(raw), window_ms)
        if stop.is_set() or member.failed:
            return
        member.lost_at = member.lost_at or time.monotonic()
        member.moving = None
        await _resume(member, cluster.target)
        if member.failed:
            return


async def _traffic(members: list[Member], sending: asyncio.Event, stop: asyncio.Event) -> None:
    """Each member sends its partner one candidate-sized frame a second, at its own phase."""
    due = {id(m): time.monotonic() + random.uniform(0, 1) for m in members}
    while not stop.is_set():
        now = time.monotonic()
        for member in members:
            if sending.is_set() and due[id(member)] <= now:
                due[id(member)] = now + 1.0
                stamp = f"{member.peer_id}:{member.sent}"
                line = f"candidate:1 1 udp 1 198.18.0.1 5000 typ host {PADDING}"
                candidate = {"candidate": line, "usernameFragment": stamp}
                frame = {"type": "ice-candidate", "to": member.partner, "candidate": candidate}
                with contextlib.suppress(websockets.ConnectionClosed):
                    await member.ws.send(json.dumps(frame))
                    member.sent += 1
        await asyncio.sleep(0.02)


async def _keepalive(members: list[Member], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for member in members:
            with contextlib.suppress(websockets.ConnectionClosed, AttributeError):
                await member.ws.send(json.dumps({"type": "ping", "ack": member.last_seq}))  # like the SDKs
        await asyncio.sleep(5)


def _ms(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))] * 1000, 1) if ordered else None


async def _settle(members: list[Member], quiet_s: float = 3.0, limit_s: float = 30.0) -> None:
    """Wait until no frame has arrived for ``quiet_s`` (a loaded machine delivers late, not never)."""
    started, last, seen = time.monotonic(), time.monotonic(), -1
    while time.monotonic() - started < limit_s and time.monotonic() - last < quiet_s:
        count = sum(len(m.received) for m in members)
        if count != seen:
            seen, last = count, time.monotonic()
        await asyncio.sleep(0.1)


def _lost_frames(members: list[Member]) -> int:
    by_id = {m.peer_id: m for m in members}
    return sum(max(0, m.sent - len(by_id[m.partner].received)) for m in members if m.partner in by_id)


async def _scenario(cluster: Cluster, clients: int) -> dict[str, Any]:
    a, b = cluster.start_node(), cluster.start_node()
    pairs = await asyncio.to_thread(peercall_pairs, a.base_url, a.api_key, cluster.secret, clients // 2)
    members: list[Member] = []
    memory_before = cluster.redis_memory()
    for first, second in pairs:
        x, y = Member(first), Member(second)
        x.ws, joined_x = await _open_peercall(ws_url(a), first)
        y.ws, joined_y = await _open_peercall(ws_url(a), second)
        x.peer_id, y.peer_id = joined_x["peer_id"], joined_y["peer_id"]
        x.partner, y.partner = y.peer_id, x.peer_id
        x.resume_token, y.resume_token = joined_x["resume_token"], joined_y["resume_token"]
        members += [x, y]
    memory_joined = cluster.redis_memory()
    stop, sending, window_ms = asyncio.Event(), asyncio.Event(), []
    cluster.target = ws_url(b)
    tasks = [asyncio.create_task(_run_member(m, cluster, window_ms, stop)) for m in members]
    tasks += [asyncio.create_task(_traffic(members, sending, stop)), asyncio.create_task(_keepalive(members, stop))]
    figures: dict[str, Any] = {"clients": len(members)}
    try:
        sending.set()
        await asyncio.sleep(2)
        # -- drain A ------------------------------------------------------------------
        rss_a = rss_kib(a.process.pid)  # whole process, idle base included
        sent_at = time.monotonic()
        a.process.send_signal(signal.SIGTERM)
        while not all(m.resumed_at or m.failed for m in members) and time.monotonic() - sent_at < 150:
            await asyncio.sleep(0.05)
        all_at = max((m.resumed_at or 0) for m in members)
        exit_code = await asyncio.to_thread(a.process.wait, 150)
        exited_at = time.monotonic()
        sending.clear()
        await _settle(members)
        gaps = [m.resumed_at - m.lost_at for m in members if m.resumed_at and m.lost_at]
        figures |= {
            "node_a_rss_mib": round(rss_a / 1024, 1),
            "drain_window_ms": max(window_ms, default=None),
            "drain_all_ms": round((all_at - sent_at) * 1000, 1),
            "drain_exit_ms": round((exited_at - sent_at) * 1000, 1),
            "drain_exit_code": exit_code,
            "drain_gap_p50_ms": _ms(gaps, 0.5),
            "drain_gap_p99_ms": _ms(gaps, 0.99),
            "drain_lost": _lost_frames(members) + sum(1 for m in members if m.failed),
        }
        # -- SIGKILL B: a reconnect storm onto C ---------------------------------------
        c = cluster.start_node()
        cluster.target = ws_url(c)
        # A routed frame stays in its receiver's replay ring until the client acknowledges it
        # (ping `ack`, every 5 s): one keepalive round after the traffic, rings hold what is unacked.
        await asyncio.sleep(ACK_ROUND_S)
        rings = await asyncio.to_thread(cluster.ring_lengths)
        figures["redis_bytes_per_session"] = round((memory_joined - memory_before) / len(members))
        figures["ring_frames_per_member"] = round(sum(rings) / len(members), 2)
        figures["ring_frames_max"] = max(rings, default=0)
        if sum(rings):
            figures["redis_bytes_per_ring_frame"] = round((cluster.redis_memory() - memory_joined) / sum(rings))
        for m in members:
            m.lost_at = m.resumed_at = None
            m.sent, m.received = 0, set()
        commands = cluster.redis_commands()
        killed_at = time.monotonic()
        b.process.kill()
        while not all(m.resumed_at or m.failed for m in members) and time.monotonic() - killed_at < 120:
            await asyncio.sleep(0.05)
        resumes = [m.resumed_at - killed_at for m in members if m.resumed_at]
        storm_commands = cluster.redis_commands() - commands
        sending.set()
        await asyncio.sleep(3)
        sending.clear()
        await _settle(members)
        failed = sum(1 for m in members if m.failed)
        figures |= {
            "storm_resume_p50_ms": _ms(resumes, 0.5),
            "storm_resume_p99_ms": _ms(resumes, 0.99),
            "storm_resume_all_ms": round(max(resumes) * 1000, 1) if resumes else None,
            "storm_failed_sessions": failed,
            "storm_frames_after": sum(m.sent for m in members),
            "lost": _lost_frames(members) + failed,
            "redis_cmds_per_resume": round(storm_commands / max(1, len(resumes)), 1),
        }
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        for m in members:
            with contextlib.suppress(Exception):
                await m.ws.close()
    return figures


# ---- scaling ---------------------------------------------------------------------------
def _scaling_run(tmp: Path, nodes: int, clients: int, rate: float, duration: float) -> dict[str, Any]:
    cluster = Cluster(tmp, 1.0)
    try:
        servers = [cluster.start_node() for _ in range(nodes)]
        pairs = peercall_pairs(servers[0].base_url, servers[0].api_key, cluster.secret, clients // 2)
        commands = cluster.redis_commands()
        urls, pids = [ws_url(s) for s in servers], [s.process.pid for s in servers]
        result = run_load("peercall", urls, pairs, rate, duration, pids, workers=3)
        result["redis_cmds_per_msg"] = round((cluster.redis_commands() - commands) / max(1, result["sent"]), 2)
        return result
    finally:
        cluster.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2_000, help="storm and drain clients (default 2,000)")
    parser.add_argument("--window", type=float, default=5.0, help="drain reconnect window, s (default 5)")
    parser.add_argument("--scale-clients", type=int, default=2_000)
    parser.add_argument("--scale-rate", type=float, default=5.0, help="frames/s per client in the scaling runs")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of sending in the scaling runs")
    parser.add_argument("--quick", action="store_true", help="200 clients, a 2 s window, short scaling runs")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.window, args.scale_clients, args.scale_rate, args.duration = 200, 2.0, 400, 10.0, 6.0
    figures: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("BENCH_KEEP"):  # keep the nodes' logs
            tmp = tempfile.mkdtemp()
            print(f"work dir {tmp}", file=sys.stderr)
        cluster = Cluster(Path(tmp) / "storm", args.window)
        try:
            figures |= asyncio.run(_scenario(cluster, args.clients))
            figures["client_errors"] = dict(ERRORS)
        finally:
            cluster.close()
        print(f"drain + storm: {figures}", file=sys.stderr)
        if not args.no_scaling:
            one = _scaling_run(Path(tmp) / "one", 1, args.scale_clients, args.scale_rate, args.duration)
            three = _scaling_run(Path(tmp) / "three", 3, args.scale_clients, args.scale_rate, args.duration)
            print(f"1 node: {one}\n3 nodes: {three}", file=sys.stderr)
            figures |= {
                "offered_msgs_per_s": args.scale_clients * args.scale_rate,
                "one_node": one,
                "three_nodes": three,
                "scaling_factor": round(three["msgs_per_s"] / one["msgs_per_s"], 2) if one["msgs_per_s"] else None,
            }
    if not args.json:
        print(
            f"{figures['clients']} clients: drain {figures['drain_all_ms']} ms, storm all resumed in "
            f"{figures['storm_resume_all_ms']} ms, lost {figures['lost']}, scaling x{figures.get('scaling_factor')}"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
