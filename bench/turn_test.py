"""Wall time of a full ``peercall turn test`` (STUN, TURN/UDP, TURN/TCP, TURNS/TLS and the
negative probes) against a local coturn; goal < 2 s.

``wall_s`` is the median wall time of the real CLI process (Python start-up included),
``probe_s`` the probe alone (in the CLI's own report). Baseline in the same run: one bare
STUN Binding round trip to the same coturn, in-process — the floor of any check.

    python bench/turn_test.py [--runs N] [--quick] [--json]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing.coturn import PEER_ADDRESS, SECRET, Coturn, start_coturn, stop_coturn  # noqa: E402
from peercall.turn.echo import EchoPeer  # noqa: E402

GOAL_S = 2.0


async def stun_baseline(coturn: Coturn, rounds: int) -> list[float]:
    peer = await EchoPeer.open(PEER_ADDRESS, coturn.host)
    try:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            await peer.binding((coturn.host, coturn.port), 2.0)
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        peer.close()


def cli_run(coturn: Coturn) -> tuple[float, dict]:
    assert coturn.ca is not None
    command = [sys.executable, "-m", "peercall.cli", "turn", "test", *coturn.urls(), "--secret", SECRET]
    command += ["--ca", str(coturn.ca.ca_cert), "--bind", PEER_ADDRESS, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=HERE.parent)
    wall = time.perf_counter() - start
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def run(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        coturn = start_coturn(Path(tmp))
        try:
            baseline = asyncio.run(stun_baseline(coturn, 20))
            walls, probes, all_ok = [], [], True
            for _ in range(runs):
                wall, report = cli_run(coturn)
                walls.append(wall)
                probes.append(report["wall_ms"] / 1000)
                all_ok &= bool(report["ok"]) and len(report["checks"]) == 4
        finally:
            stop_coturn(coturn)
    wall_s = statistics.median(walls)
    return {
        "runs": runs,
        "wall_s": round(wall_s, 3),
        "wall_max_s": round(max(walls), 3),
        "probe_s": round(statistics.median(probes), 3),
        "baseline_stun_binding_ms": round(statistics.median(baseline), 2),
        "goal_wall_s": GOAL_S,
        "meets_goal": wall_s < GOAL_S,
        "all_checks_ok": all_ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    figures = run(3 if args.quick else args.runs)
    if not args.json:
        print(
            f"turn test: wall {figures['wall_s']} s (probe {figures['probe_s']} s) over {figures['runs']} runs; "
            f"baseline STUN binding {figures['baseline_stun_binding_ms']} ms; goal < {GOAL_S} s"
        )
    print(json.dumps(figures))
    return 0 if figures["all_checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
