"""Load-generator side of the signaling benches: WebSocket clients in pairs (peercall or
PeerJS protocol), paced sending, keepalives, and ``run_load``, which spreads the pairs over
worker processes (at most 20,000 open files per process here) and collects the figures.

Used by bench/signaling_load.py and bench/reconnect_storm.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import secrets
import statistics
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop
import websockets
from load_wire import Wire

PER_WORKER = 2_000  # connections per load-generator process (fd limit, CPU)
CONNECT_PER_S = 400  # pacing of new connections per worker
CONNECT_IN_FLIGHT = 16  # pairs being opened at once per worker (more only queues at the server: joins past its timeout)
BARRIER_TIMEOUT_S = 900  # connecting 10,000 clients takes ~100 s here
DRAIN_MAX_S = 20.0  # after sending: wait (at most this long) until frames stop arriving
PADDING = "x" * 160  # a candidate line is ~150-250 bytes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """Samples the servers' CPU time every 0.25 s (a thread), so the CPU spent in any
    window (e.g. while every load generator was sending) can be read off afterwards: a
    figure that, unlike latency, barely depends on what else the shared machine runs."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), sum(cpu_seconds(p) for p in self._pids)))
            except (OSError, IndexError, ValueError):
                return  # a server exited
            self._stop.wait(0.25)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def used(self, start: float, end: float) -> float | None:
        """CPU seconds used between two wall-clock times (nearest samples inside the window)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) * (end - start) / (t1 - t0) if t1 > t0 else None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---- clients ---------------------------------------------------------------------------
class Client:
    def __init__(self) -> None:
        self.wire: Wire | None = None
        self.partner = ""
        self.sent = 0
        self.latencies: list[float] = []
        self.next_ping = time.monotonic() + random.uniform(0, 5.0)
        self.next_send = 0.0
        self.last_seq = 0  # highest `seq` received: acknowledged in pings, like the SDKs do
        self.last_at = 0.0  # when the last relayed frame arrived (time.time())

    def listen(self, kind: str) -> None:
        """From now on, note each relayed frame's latency (sender's stamp → now)."""

        def on_text(text: str) -> None:
            frame = orjson.loads(text)
            self.last_seq = frame.get("seq", self.last_seq)
            if kind == "peercall" and frame.get("type") == "ice-candidate":
                stamp = frame["candidate"]["usernameFragment"]
            elif kind == "peerjs" and frame.get("type") == "CANDIDATE":
                stamp = frame["payload"]["ts"]
            else:
                return
            now = time.time()
            self.latencies.append((now - float(stamp)) * 1000)
            self.last_at = now

        assert self.wire is not None
        self.wire.on_text = on_text


async def _open_peercall(url: str, token: str) -> tuple[Any, dict[str, Any]]:
    """A joined ``websockets`` connection (bench/reconnect_storm.py's clients)."""
    ws = await websockets.connect(url, max_size=2**20, open_timeout=30, ping_interval=None)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return ws, await _joined(ws.recv)


async def _join_wire(url: str, token: str) -> tuple[Wire, dict[str, Any]]:
    wire = await Wire.open(url)
    wire.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return wire, await _joined(wire.recv)


async def _joined(recv: Callable[[], Awaitable[str | bytes]]) -> dict[str, Any]:
    """Read frames until `joined` (returned) or an error (raised)."""
    while True:
        frame = json.loads(await recv())
        if frame.get("type") == "joined":
            return dict(frame)
        if frame.get("type") == "error":
            raise RuntimeError(f"join refused: {frame}")


async def _open_peerjs(url: str, peer_id: str) -> Wire:
    wire = await Wire.open(f"{url}?key=peerjs&id={peer_id}&token={secrets.token_hex(4)}")
    frame = json.loads(await wire.recv())
    if frame.get("type") != "OPEN":
        raise RuntimeError(f"peerjs refused: {frame}")
    return wire


def _due(schedule: deque[Client], attr: str, now: float, interval: float) -> list[Client]:
    """Clients whose ``attr`` time has come, each rescheduled one ``interval`` later.

    ``schedule`` is kept in due order (same interval for all: the one just served goes to
    the back), so a tick costs the sends it makes, not a scan of every client: scanning
    2,000 clients every 5 ms per load-generator process took CPU the server then lacked.
    At most one round per call (a lagging generator catches up over the next ticks).
    """
    ready: list[Client] = []
    for _ in range(len(schedule)):
        client = schedule[0]
        when = getattr(client, attr)
        if when > now:
            break
        schedule.rotate(-1)
        setattr(client, attr, when + interval)
        ready.append(client)
    return ready


async def _keepalive(clients: list[Client], kind: str) -> None:
    """Each client pings every ~5 s at its own phase (real clients are not in step).

    Due times, not a sleep per client: with ``sleep(5 / N)`` between clients a busy
    load-generator loop stretched a round past the server's 20 s idle timeout, and the
    server rightly closed the sockets of clients that had sent nothing (4008).
    """
    heartbeat = json.dumps({"type": "HEARTBEAT"})
    schedule: deque[Client] = deque()
    while True:
        if len(schedule) != len(clients):  # clients still joining: rebuild in due order
            schedule = deque(sorted(clients, key=lambda c: c.next_ping))
        for client in _due(schedule, "next_ping", time.monotonic(), 5.0):
            # peercall's SDK acknowledges what it processed in its ping (the server trims the
            # member's replay ring to it); PeerJS keeps no replay ring.
            ping = json.dumps({"type": "ping", "ts": 0, "ack": client.last_seq}) if kind == "peercall" else heartbeat
            assert client.wire is not None
            client.wire.send(ping)
        await asyncio.sleep(0.05)


def _frame(kind: str, to: str) -> bytes:
    if kind == "peercall":
        candidate: dict[str, Any] = {"candidate": f"candidate:1 1 udp 2122260223 198.18.0.1 5000 typ host {PADDING}"}
        candidate |= {"sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": repr(time.time())}
        return orjson.dumps({"type": "ice-candidate", "to": to, "candidate": candidate})
    payload = {"candidate": f"candidate:1 1 udp 2122260223 198.18.0.1 5000 typ host {PADDING}", "ts": time.time()}
    return orjson.dumps({"type": "CANDIDATE", "dst": to, "payload": payload})


async def _worker_main(
    kind: str, urls: tuple[str, str], pairs: list[tuple[str, str]], rate: float, duration: float, start: Any
) -> dict:
    """``urls``: where each pair's first and second member connect (two nodes: relayed via Redis)."""
    clients: list[Client] = []
    pace = 1 / CONNECT_PER_S
    join_ms: list[float] = []  # WebSocket open + join until `joined` (the store's writes are on this path)
    connect_started = time.monotonic()
    keepalive = asyncio.create_task(_keepalive(clients, kind))  # like the SDKs: a ping every 5 s
    # Pairs open concurrently (at most CONNECT_IN_FLIGHT per worker, paced at CONNECT_PER_S):
    # one after another, a worker measured its own round trips, not the server (a join
    # writes to the store: ~100 ms under load made 10,000 sequential joins take ~8 minutes).
    gate = asyncio.Semaphore(CONNECT_IN_FLIGHT)
    failed_joins: list[str] = []

    async def open_pair(first: str, second: str) -> None:
        try:
            await open_pair_once(first, second)
        except (RuntimeError, OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            failed_joins.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    async def open_pair_once(first: str, second: str) -> None:
        async with gate:
            a, b = Client(), Client()
            if kind == "peercall":
                t0 = time.monotonic()
                a.wire, _ = await _join_wire(urls[0], first)
                t1 = time.monotonic()
                b.wire, joined = await _join_wire(urls[1], second)
                join_ms.extend([(t1 - t0) * 1000, (time.monotonic() - t1) * 1000])
                a.partner, b.partner = joined["peer_id"], joined["peers"][0]["peer_id"]
            else:
                a.wire, b.wire = await _open_peerjs(urls[0], first), await _open_peerjs(urls[1], second)
                a.partner, b.partner = second, first
            for client in (a, b):
                client.listen(kind)
                clients.append(client)

    opening = []
    for first, second in pairs:
        opening.append(asyncio.create_task(open_pair(first, second)))
        await asyncio.sleep(2 * pace)
    await asyncio.gather(*opening)
    ready = {
        "failed_joins": failed_joins,
        "connected": len(clients),
        "join_ms": join_ms,
        "connect_s": time.monotonic() - connect_started,
    }
    # Every worker connected (the barrier): every client sends `rate` frames per second,
    # spread evenly, all generators at once, so the offered load is what the run says.
    await asyncio.get_running_loop().run_in_executor(None, start.wait, BARRIER_TIMEOUT_S)
    started, started_at = time.monotonic(), time.time()
    interval = 1 / rate
    for client in clients:
        client.next_send = started + interval * random.random()
    schedule = deque(sorted(clients, key=lambda c: c.next_send))
    while (now := time.monotonic()) - started < duration:
        for client in _due(schedule, "next_send", now, interval):
            assert client.wire is not None
            if client.wire.send(_frame(kind, client.partner)):  # else dropped: counted below
                client.sent += 1
        await asyncio.sleep(0.005)
    # Drain: wait until frames stop arriving (a backlogged server delivers late, not never).
    received, drain_until = -1, time.monotonic() + DRAIN_MAX_S
    while time.monotonic() < drain_until:
        await asyncio.sleep(1.0)
        now_received = sum(len(c.latencies) for c in clients)
        if now_received == received:
            break
        received = now_received
    # Sockets the server closed during the run (counted before our own teardown: closing
    # thousands of sockets one by one once let the last ones idle out at the server).
    dropped = [c.wire.close_code for c in clients if c.wire and c.wire.close_code not in (None, 1000)]
    keepalive.cancel()
    for client in clients:
        if client.wire is not None:
            client.wire.close()
    await asyncio.sleep(1.0)  # the close frames go out
    latencies = [ms for client in clients for ms in client.latencies]
    return ready | {
        "dropped": dropped,
        "sent": sum(c.sent for c in clients),
        "received": len(latencies),
        "latencies": latencies,
        "elapsed": duration,
        # From the first send to the last frame's arrival: longer than `duration` when the
        # server fell behind and delivered a backlog after the clients stopped sending.
        "delivery_s": max((c.last_at for c in clients), default=started_at) - started_at,
    }


def _worker(
    kind: str,
    urls: tuple[str, str],
    pairs: list[tuple[str, str]],
    rate: float,
    duration: float,
    out: Any,
    start: Any,
) -> None:
    try:
        # uvloop, like the server: the generator's own overhead is CPU the server lacks.
        out.put(uvloop.run(_worker_main(kind, urls, pairs, rate, duration, start)))
    except Exception as exc:  # report, do not hang the parent (nor the other workers)
        start.abort()
        out.put({"error": repr(exc)})


def run_load(
    kind: str,
    url: str | list[str],
    pairs: list[tuple[str, str]],
    rate: float,
    duration: float,
    pid: int | list[int],
    *,
    workers: int = 1,
) -> dict:
    """Spread the pairs over (at least ``workers``) worker processes; start sending together;
    collect figures. Several ``url``s (nodes): worker i puts a pair's members on nodes i and
    i+1, so most frames cross nodes; ``pid``s: the RSS figure sums the nodes."""
    urls, pids = ([url] if isinstance(url, str) else url), ([pid] if isinstance(pid, int) else pid)
    base_rss = sum(rss_kib(p) for p in pids)
    sampler = CpuSampler(pids)
    size = max(1, min(PER_WORKER // 2, -(-len(pairs) // workers)))
    chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    spawn = mp.get_context("spawn")
    out: Any = spawn.Queue()
    start = spawn.Barrier(len(chunks) + 1)  # the workers, once connected, and us
    procs = [
        spawn.Process(
            target=_worker,
            args=(kind, (urls[n % len(urls)], urls[(n + 1) % len(urls)]), chunk, rate, duration, out, start),
        )
        for n, chunk in enumerate(chunks)
    ]
    for proc in procs:
        proc.start()
    generators = CpuSampler([proc.pid for proc in procs if proc.pid is not None])
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: its error is in `out`
        start.wait(BARRIER_TIMEOUT_S)
    # All connections are open and held while sending: the server's memory and CPU then.
    started = time.time()
    connected_rss = sum(rss_kib(p) for p in pids)
    time.sleep(duration / 2)
    peak_rss = max(connected_rss, sum(rss_kib(p) for p in pids))
    results = [out.get(timeout=600) for _ in procs]
    sampler.stop()
    generators.stop()
    for proc in procs:
        proc.join(10)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"{kind}: {errors[:3]}")
    latencies = sorted(ms for r in results for ms in r["latencies"])
    joins = sorted(ms for r in results for ms in r["join_ms"])
    connections = sum(r["connected"] for r in results)
    sent, received = sum(r["sent"] for r in results), sum(r["received"] for r in results)
    # Server CPU while every generator was sending (they start together at the barrier).
    window = (started + 1, started + duration - 1)
    cpu = sampler.used(*window) if duration > 3 else None
    generators_cpu = generators.used(*window) if duration > 3 else None
    offered = sent / duration  # frames per second offered while all were sending
    return {
        "connections": connections,
        # Frames relayed per second over the time it took to relay them: a server that falls
        # behind the offered rate is not credited with the backlog it delivers afterwards.
        "msgs_per_s": round(received / max(duration, *(r["delivery_s"] for r in results)), 1),
        "offered_per_s": round(sent / duration, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "rss_per_conn_kib": round((peak_rss - base_rss) / max(1, connections), 1),
        # Server CPU per relayed frame (its own pings and the clients' included) and load.
        "cpu_us_per_msg": round(cpu / (window[1] - window[0]) / offered * 1e6, 1) if cpu and offered else None,
        "server_cpu_pct": round(cpu / (window[1] - window[0]) * 100, 1) if cpu else None,
        # The load generators' CPU (all processes; 100 = one core): the server's competition here.
        "generators_cpu_pct": round(generators_cpu / (window[1] - window[0]) * 100, 1) if generators_cpu else None,
        "lost": sent - received,
        "sent": sent,
        "join_p50_ms": round(statistics.median(joins), 1) if joins else None,
        "join_p99_ms": round(joins[int(0.99 * (len(joins) - 1))], 1) if joins else None,
        "connect_phase_s": round(max(r["connect_s"] for r in results), 1),
        # Clients the server closed before the end (close code: count), and joins that failed.
        "dropped": dict(Counter(str(code) for r in results for code in r["dropped"])),
        "failed_joins": len([f for r in results for f in r["failed_joins"]]),
        "failed_join_examples": [f for r in results for f in r["failed_joins"]][:3],
    }
