"""Signaling load: N WebSocket clients in rooms of two relay candidate-sized frames to
their partner at a fixed rate, against peercall and, in the same run, the PeerJS server.

Figures (JSON keys): ``connections`` held, ``msgs_per_s`` relayed (per second from the first
send to the last frame's arrival: a backlog delivered late does not count as throughput),
``p50_ms``/``p99_ms``
relay latency (sender stamp → partner receipt, one machine clock), ``rss_per_conn_kib``
(server RSS growth / connections), ``lost`` (sent − received after a drain), and the
ratios against PeerJS: ``throughput_ratio`` (ours/theirs, higher is better),
``p99_ratio`` and ``mem_ratio`` (ours/theirs, lower is better). Also ``cpu_us_per_msg``, the
server's CPU time per relayed frame while every generator was sending (its pings and the
clients' included), and ``cpu_ratio``: on a shared machine this moves far less than latency.

Load generators run in separate processes (at most 20,000 open files per process here),
each holding whole pairs; the server is another process. ``run_load`` also spreads the
pairs over several nodes of a Redis cluster (bench/reconnect_storm.py's scaling phase).

    python bench/signaling_load.py [--clients N] [--rate R] [--duration S] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from load_clients import run_load  # noqa: E402

from peercall.auth.tokens import TokenIssuer  # noqa: E402
from peercall.testing.server import start_server, stop_server  # noqa: E402

# ---- servers ---------------------------------------------------------------------------
# All load comes from one address here: lift the per-address caps (the node-wide cap stays).
LIFTED_LIMITS = {
    "PEERCALL_LOG_LEVEL": "warning",
    "PEERCALL_MAX_CONNECTIONS_PER_IP": "100000",
    "PEERCALL_CONNECT_RATE_PER_IP": "100000",
    "PEERCALL_CONNECT_BURST_PER_IP": "100000",
}


def peercall_pairs(base_url: str, api_key: str, secret: str, count: int) -> list[tuple[str, str]]:
    """``count`` rooms of two and a join token for each member (signed locally: fast)."""
    issuer = TokenIssuer(secret)
    rooms = asyncio.run(_create_rooms(base_url, api_key, count))
    pairs = []
    for n, room in enumerate(rooms):
        a, _ = issuer.issue(room, f"a{n}", "A", "participant", 3600)
        b, _ = issuer.issue(room, f"b{n}", "B", "participant", 3600)
        pairs.append((a, b))
    return pairs


def peercall_run(tmp: Path, clients: int, rate: float, duration: float) -> dict:
    secret = secrets.token_urlsafe(48)
    server = start_server(tmp, extra_env={"PEERCALL_TOKEN_SECRET": secret, **LIFTED_LIMITS})
    try:
        pairs = peercall_pairs(server.base_url, server.api_key, secret, clients // 2)
        url = server.base_url.replace("http", "ws", 1) + "/ws"
        return run_load("peercall", url, pairs, rate, duration, server.process.pid)
    finally:
        stop_server(server)


async def _create_rooms(base: str, api_key: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as http:
        sem = asyncio.Semaphore(32)

        async def one(n: int) -> str:
            async with sem:
                response = await http.post("/api/rooms", json={"name": f"load-{n}", "max_participants": 2})
                response.raise_for_status()
                return str(response.json()["id"])

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def peerjs_run(clients: int, rate: float, duration: float) -> dict | None:
    binary = ROOT / "node_modules" / ".bin" / "peerjs"
    if not binary.exists() or not shutil.which("node"):
        print("PeerJS server not installed (npm package `peer`): no baseline", file=sys.stderr)
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(binary), "--port", str(port), "--key", "peerjs", "--path", "/", "--concurrent_limit", "1000000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        pairs = [(f"a{n}x{secrets.token_hex(3)}", f"b{n}x{secrets.token_hex(3)}") for n in range(clients // 2)]
        return run_load("peerjs", f"ws://127.0.0.1:{port}/peerjs", pairs, rate, duration, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1.0, help="frames per second per client (default 1)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sending (default 20)")
    parser.add_argument("--quick", action="store_true", help="1,000 clients for 10 s")
    parser.add_argument("--no-peerjs", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    clients, duration = (1_000, 10.0) if args.quick else (args.clients, args.duration)
    with tempfile.TemporaryDirectory() as tmp:
        ours = peercall_run(Path(tmp), clients, args.rate, duration)
    print(f"peercall: {ours}", file=sys.stderr)
    figures: dict[str, Any] = dict(ours)
    theirs = None if args.no_peerjs else peerjs_run(clients, args.rate, duration)
    if theirs:
        print(f"peerjs:   {theirs}", file=sys.stderr)
        figures["peerjs"] = theirs
        figures["throughput_ratio"] = (
            round(ours["msgs_per_s"] / theirs["msgs_per_s"], 3) if theirs["msgs_per_s"] else None
        )
        if ours["p99_ms"] and theirs["p99_ms"]:
            figures["p99_ratio"] = round(ours["p99_ms"] / theirs["p99_ms"], 3)
        if theirs["rss_per_conn_kib"] > 0:
            figures["mem_ratio"] = round(ours["rss_per_conn_kib"] / theirs["rss_per_conn_kib"], 3)
        if ours["cpu_us_per_msg"] and theirs["cpu_us_per_msg"]:
            figures["cpu_ratio"] = round(ours["cpu_us_per_msg"] / theirs["cpu_us_per_msg"], 3)
    figures |= {"clients": clients, "rate_per_client": args.rate, "duration_s": duration, "cpus": os.cpu_count()}
    if not args.json:
        print(f"peercall {ours['connections']} connections, {ours['msgs_per_s']} msg/s, p99 {ours['p99_ms']} ms")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
