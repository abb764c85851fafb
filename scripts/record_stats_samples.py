"""Record real Chromium stats samples for the quality-model tests (tests/unit/data/).

Two Chromiums in network namespaces (peercall.testing.netns), one call; phases: clean,
25 % random loss on A (iptables statistic), clean again, A's upload capped (tc tbf).
Each side's ``call.stats.history`` is saved with the phase it was recorded in. Run it
as root through the test network wrapper:

    bash scripts/in-testnet.sh .venv/bin/python scripts/record_stats_samples.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from peercall.testing.netcall import call_in_netns
from peercall.testing.netns import topology
from peercall.testing.quality import stats_history

OUT = Path(__file__).resolve().parent.parent / "tests" / "unit" / "data" / "stats_samples.json"


async def main() -> None:
    phases: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, topology(Path(tmp)) as topo:
        server = topo.start_server(Path(tmp))
        async with call_in_netns(topo, server) as call:

            async def phase(name: str, seconds: float) -> None:
                start = time.time() * 1000
                await asyncio.sleep(seconds)
                phases.append((name, start, time.time() * 1000))

            await phase("clean", 10)
            topo.add_loss("a", 0.25)
            await phase("loss25_a", 12)
            topo.clear_loss("a")
            await phase("recovered", 10)
            topo.cap_bandwidth("a", 250)
            await phase("cap250_a", 14)
            topo.clear_bandwidth("a")
            samples = []
            for label, side in call.sides.items():
                for entry in await stats_history(side.page):
                    name = next((n for n, s, e in phases if s <= entry["t"] < e), None)
                    if name:
                        samples.append(
                            {"side": label, "phase": name, "sample": entry["sample"], "js": entry["assessment"]}
                        )
    OUT.write_text(json.dumps({"phases": [p[0] for p in phases], "samples": samples}, indent=1) + "\n")
    print(f"{len(samples)} samples → {OUT}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
