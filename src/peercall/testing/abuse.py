"""Abuse generators for security tests and benchmarks, run as a separate process so the
attacker's CPU use does not distort the measurements made by the test process.

    python -m peercall.testing.abuse flood WS_URL --seconds 5 --connections 4 --source 127.0.0.2

prints one JSON line: frames sent, sockets opened, refusals and close codes seen. Every
loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

FLOOD_FRAME = '{"type":"ping","ts":1}'


async def _flood_one(
    url: str, source: str, deadline: float, stats: Counter[str], max_frames: int, rate: float, retry_delay: float
) -> None:
    """Connect, send ``rate`` frames per second (in batches), reconnect when closed."""
    batch = max(1, int(rate / 20))
    while time.monotonic() < deadline:
        try:
            async with websockets.connect(url, local_addr=(source, 0), open_timeout=3, max_queue=None) as ws:
                stats["sockets"] += 1
                reader = asyncio.create_task(_drain(ws, stats))
                try:
                    for _ in range(0, max_frames, batch):
                        if time.monotonic() >= deadline or reader.done():
                            break
                        for _ in range(batch):
                            await ws.send(FLOOD_FRAME)
                        stats["frames"] += batch
                        await asyncio.sleep(batch / rate)
                    await asyncio.wait_for(reader, max(0.1, deadline - time.monotonic()))
                except (ConnectionClosed, TimeoutError):
                    pass
                finally:
                    reader.cancel()
        except (OSError, InvalidStatus, TimeoutError) as exc:
            stats[f"connect_failed:{type(exc).__name__}"] += 1
            await asyncio.sleep(retry_delay)


async def _drain(ws: Any, stats: Counter[str]) -> None:
    try:
        async for message in ws:
            frame = json.loads(message)
            if frame.get("type") == "error":
                stats[f"error:{frame.get('code')}"] += 1
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else 0
        stats[f"close:{code}"] += 1


async def flood(
    url: str, seconds: float, connections: int, source: str, max_frames: int, rate: float, retry_delay: float = 0.05
) -> dict[str, int]:
    stats: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(_flood_one(url, source, deadline, stats, max_frames, rate, retry_delay) for _ in range(connections))
    )
    return dict(stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peercall.testing.abuse")
    sub = parser.add_subparsers(dest="command", required=True)
    fl = sub.add_parser("flood", help="send frames far over the rate limit, reconnecting when closed")
    fl.add_argument("url")
    fl.add_argument("--seconds", type=float, default=5.0)
    fl.add_argument("--connections", type=int, default=4)
    fl.add_argument("--source", default="127.0.0.1", help="local address to connect from")
    fl.add_argument("--max-frames", type=int, default=100_000, help="per socket")
    fl.add_argument("--rate", type=float, default=2000.0, help="frames per second per socket")
    fl.add_argument("--retry-delay", type=float, default=0.05, help="seconds between refused connects")
    args = parser.parse_args(argv)
    result = asyncio.run(
        flood(args.url, args.seconds, args.connections, args.source, args.max_frames, args.rate, args.retry_delay)
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
