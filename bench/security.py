"""Abuse limits, measured against a real server: how fast a flood is cut off, what it does
to a concurrent call's signaling latency, and how many sockets one address may hold.

The flooder is a separate process (``peercall.testing.abuse``) connecting from 127.0.0.2;
the measured call runs from 127.0.0.1.

    python bench/security.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing import start_server, stop_server  # noqa: E402


async def _latencies(sender, receiver, to: str, samples: int) -> list[float]:
    out = []
    for n in range(samples):
        marker = f"v=0 bench {n} {time.monotonic_ns()}"
        start = time.perf_counter()
        await sender.send(json.dumps({"type": "offer", "to": to, "sdp": marker}))
        while json.loads(await asyncio.wait_for(receiver.recv(), 5)).get("sdp") != marker:
            pass
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.02)
    return out


async def _sockets_per_ip(url: str, limit: int) -> tuple[int, float]:
    """Open sockets from one address until refused; (accepted, seconds to the refusal)."""
    opened, start = [], time.perf_counter()
    try:
        for _ in range(limit):
            ws = await websockets.connect(url, local_addr=("127.0.0.3", 0))
            opened.append(ws)
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.05))
                if frame.get("code") in ("too_many_connections", "server_busy"):
                    return len(opened) - 1, time.perf_counter() - start
            except TimeoutError:
                pass
        return len(opened), time.perf_counter() - start
    finally:
        for ws in opened:
            await ws.close()


async def run(samples: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            room = server.create_room()
            alice = await websockets.connect(server.ws_url)
            await alice.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "a")["token"]}))
            alice_id = json.loads(await alice.recv())["peer_id"]
            bob = await websockets.connect(server.ws_url)
            await bob.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "b")["token"]}))
            await bob.recv()
            await alice.recv()
            unloaded = await _latencies(bob, alice, alice_id, samples)
            command = [sys.executable, "-m", "peercall.testing.abuse", "flood", server.ws_url, "--seconds"]
            command += [str(seconds), "--connections", "4", "--source", "127.0.0.2", "--retry-delay", "1"]
            flooder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            await asyncio.sleep(0.7)
            loaded = await _latencies(bob, alice, alice_id, samples)
            out, _ = await asyncio.to_thread(flooder.communicate, timeout=60)
            flood = json.loads(out.strip().splitlines()[-1])
            unloaded += await _latencies(bob, alice, alice_id, samples)
            per_ip, refusal_s = await _sockets_per_ip(server.ws_url, 150)
            await alice.close()
            await bob.close()
        finally:
            stop_server(server)
    return {
        "flood_frames_sent": flood.get("frames", 0),
        "flood_sockets_closed_4029": flood.get("close:4029", 0),
        "flood_handshakes_refused": flood.get("connect_failed:InvalidStatus", 0),
        "relay_p50_unloaded_ms": round(statistics.median(unloaded), 2),
        "relay_p50_flooded_ms": round(statistics.median(loaded), 2),
        "flood_latency_ratio": round(statistics.median(loaded) / statistics.median(unloaded), 2),
        "sockets_per_ip_accepted": per_ip,
        "per_ip_refusal_after_s": round(refusal_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter flood")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    figures = asyncio.run(run(samples=30 if args.quick else 100, seconds=3 if args.quick else 6))
    if not args.json:
        for key, value in figures.items():
            print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
