"""Call-setup latency: join() → first decoded remote video frame, headless Chromium.

Each call: a fresh room, page A joins and waits, page B joins; the figure is page B's
time from ``join()`` to the first frame of A's video (``requestVideoFrameCallback``).
Baseline in the same run: two RTCPeerConnections in one page exchanging SDP directly
(no server, no network signaling) — the floor peercall adds its overhead to.

    python bench/call_setup.py [--calls N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing import start_server, stop_server  # noqa: E402
from peercall.testing.browser import chromium  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run(calls: int, timeout_s: float) -> dict[str, object]:
    harness = f'<!doctype html><body><script type="module">{(HERE / "harness.js").read_text()}</script></body>'
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            # The harness page is served by Playwright (not by peercall), so Chromium's
            # Local Network Access check would block its loopback WebSocket; bench only.
            async with chromium(extra_args=["--disable-features=LocalNetworkAccessChecks"]) as browser:
                pages = []
                for _ in range(2):
                    context = await browser.new_context()
                    page = await context.new_page()
                    await page.route(
                        f"{server.base_url}/bench", lambda route: route.fulfill(body=harness, content_type="text/html")
                    )
                    await page.goto(f"{server.base_url}/bench")
                    await page.wait_for_function("() => typeof window.benchJoin === 'function'")
                    pages.append(page)
                page_a, page_b = pages
                baseline = [await page_a.evaluate("() => window.benchBaseline()") for _ in range(max(3, calls // 2))]
                samples: list[float] = []
                deadline = time.monotonic() + timeout_s
                for _ in range(calls):
                    if time.monotonic() > deadline:
                        break
                    room = server.create_room()
                    token_a = server.token(room, "a")["token"]
                    token_b = server.token(room, "b")["token"]
                    await page_a.evaluate("(t) => window.benchJoin(t)", token_a)
                    await page_b.evaluate("(t) => window.benchJoin(t)", token_b)
                    ms = await page_b.evaluate("() => window.benchFirstFrame")
                    samples.append(float(ms))
                    await page_a.evaluate("() => window.benchLeave()")
                    await page_b.evaluate("() => window.benchLeave()")
        except Exception:
            print(server.log()[-3000:], file=sys.stderr)
            raise
        finally:
            stop_server(server)
    median = statistics.median(samples)
    base_median = statistics.median(baseline)
    return {
        "calls": len(samples),
        "median_ms": round(median, 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "baseline_median_ms": round(base_median, 1),
        "ratio_to_baseline": round(median / base_median, 2),
        "goal_median_ms": 300,
        "samples_ms": [round(s, 1) for s in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 calls")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    calls = 10 if args.quick else args.calls
    figures = asyncio.run(run(calls, timeout_s=240 if args.quick else 600))
    if not args.json:
        print(
            f"calls={figures['calls']} median={figures['median_ms']} ms p95={figures['p95_ms']} ms "
            f"(baseline in-page median {figures['baseline_median_ms']} ms, ratio {figures['ratio_to_baseline']})"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
