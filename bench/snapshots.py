"""Snapshot latency (video-KYC): from the call to "stored and announced", headless Chromium.

Two browser processes (agent and customer, each with its own fake 640×480 camera) in one
call through a real server. Per sample, on the agent's page:

- ``local``: ``captureLocal()`` (own camera, grabFrame → JPEG → upload → stored);
- ``remote``: ``captureRemote(peer)`` (the received video at its decoded resolution);
- ``request``: ``requestFromPeer(peer)``: signaling → the customer's SDK raises its camera
  to the largest size it offers, captures, uploads → ``snapshot-taken`` back at the agent.

    python bench/snapshots.py [--samples N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing import start_server, stop_server  # noqa: E402
from peercall.testing.browser import chromium, wait_decoding  # noqa: E402

TIMED_JS = """
async ([kind, peer]) => {
  const s = window.peercallCall.snapshots;
  const t0 = performance.now();
  const snap = kind === 'local' ? await s.captureLocal()
    : kind === 'remote' ? await s.captureRemote(peer) : await s.requestFromPeer(peer);
  return { ms: performance.now() - t0, width: snap.width, height: snap.height, id: snap.snapshotId };
}
"""


async def run(samples: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), extra_env={"PEERCALL_SNAPSHOT_MAX_PER_MINUTE": "1000"})
        try:
            room = server.create_room()
            agent = server.token(room, "agent", "host")["join_url"]
            customer = server.token(room, "customer")["join_url"]
            async with chromium() as browser_a, chromium() as browser_c:
                pages = []
                for browser, url in ((browser_a, agent), (browser_c, customer)):
                    page = await (await browser.new_context()).new_page()
                    await page.goto(url + "&autojoin=1")
                    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
                    pages.append(page)
                page_a, _ = pages
                await wait_decoding(page_a, min_frames=30)
                peer = await page_a.evaluate("() => [...window.peercallCall.peers.keys()][0]")
                results: dict[str, list[dict[str, float]]] = {"local": [], "remote": [], "request": []}
                for _ in range(samples):
                    for kind, values in results.items():
                        values.append(await page_a.evaluate(TIMED_JS, [kind, peer]))
            with server.api() as api:
                stored = {s["id"]: s for s in api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]}
                intact = api.get(f"/api/rooms/{room}/audit").json()["intact"]
        except Exception:
            print(server.log()[-3000:], file=sys.stderr)
            raise
        finally:
            stop_server(server)
    figures: dict[str, object] = {"samples": samples, "audit_intact": intact}
    for kind, values in results.items():
        ms = [v["ms"] for v in values]
        figures[f"{kind}_median_ms"] = round(statistics.median(ms), 1)
        figures[f"{kind}_max_ms"] = round(max(ms), 1)
        figures[f"{kind}_resolution"] = f"{values[0]['width']}x{values[0]['height']}"
        figures[f"{kind}_bytes_median"] = int(statistics.median(stored[v["id"]]["size"] for v in values))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 samples of each kind")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    figures = asyncio.run(run(3 if args.quick else args.samples))
    if not args.json:
        for kind in ("local", "remote", "request"):
            print(
                f"{kind:8} median {figures[f'{kind}_median_ms']} ms, max {figures[f'{kind}_max_ms']} ms, "
                f"{figures[f'{kind}_resolution']}, {figures[f'{kind}_bytes_median']} bytes"
            )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
