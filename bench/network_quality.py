"""Network-quality detection: impairment on one side → the SDK's level and alerts, and back.

One call between Chromium A and B, each in its own network namespace (as the e2e tests).
Each round: a steady call, then A's link gets random loss (iptables statistic) or an
upload cap (tc tbf) for ``--hold`` seconds, then the impairment is removed. Measured per
round: impairment → A's level poor, → A's "your network" alert, → B's "their network"
alert; repair → both alerts cleared; and alerts that blamed the wrong side (B).

    python bench/network_quality.py [--rounds N] [--loss P] [--cap KBIT] [--quick] [--json]

Needs root (network namespaces): run it through ``scripts/in-testnet.sh``. The last line
of ``--json`` output is one JSON object.
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

from peercall.testing.netcall import NetCall, call_in_netns, now_ms  # noqa: E402
from peercall.testing.netns import Topology, topology  # noqa: E402
from peercall.testing.quality import install_monitor, quality_events, wait_event  # noqa: E402

TIMEOUT_S = 30.0


async def since(call: NetCall, label: str, name: str, start: float, **match: str) -> float | None:
    event = await wait_event(call[label].page, name, start, TIMEOUT_S, **match)
    return None if event is None else float(event["t"]) - start


async def one_round(topo: Topology, call: NetCall, kind: str, loss: float, cap: int, hold_s: float) -> dict:
    await asyncio.sleep(8)  # steady, and past the previous round's recovery
    start = now_ms()
    topo.add_loss("a", loss) if kind == "loss" else topo.cap_bandwidth("a", cap)
    poor, alert_a, alert_b = await asyncio.gather(
        since(call, "a", "qualityChanged", start, side="local", level="poor"),
        since(call, "a", "qualityAlert", start, side="local"),
        since(call, "b", "qualityAlert", start, side="remote"),
    )
    await asyncio.sleep(hold_s)
    repaired = now_ms()
    topo.clear_loss("a") if kind == "loss" else topo.clear_bandwidth("a")
    clear_a, clear_b = await asyncio.gather(
        since(call, "a", "qualityAlertCleared", repaired, side="local"),
        since(call, "b", "qualityAlertCleared", repaired, side="remote"),
    )
    wrong = [
        e
        for label, blamed in (("a", "remote"), ("b", "local"))
        for e in await quality_events(call[label].page, start)
        if e["name"] == "qualityAlert" and e["side"] == blamed
    ]
    if wrong or None in (poor, alert_a, alert_b, clear_a, clear_b):  # show what happened
        for label in ("a", "b"):
            for e in await quality_events(call[label].page, start):
                print(label, round((e["t"] - start) / 1000, 1), e, file=sys.stderr)
            history = await call[label].page.evaluate(
                "(s) => window.peercallCall.stats.history.filter((h) => h.t >= s).map((h) => [h.assessment.level,"
                " h.assessment.causes.join(), window.peercallCall.stats.access])",
                repaired,
            )
            print(label, "after repair:", history, file=sys.stderr)
    return {"kind": kind, "poor": poor, "alert_a": alert_a, "alert_b": alert_b, "clear_a": clear_a,
            "clear_b": clear_b, "wrong": len(wrong)}  # fmt: skip


def median(rounds: list[dict], key: str, kind: str) -> float | None:
    values = [r[key] for r in rounds if r["kind"] == kind and r[key] is not None]
    return round(statistics.median(values)) if values else None


async def run(rounds: int, loss: float, cap: int, hold_s: float) -> dict[str, object]:
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, topology(Path(tmp)) as topo:
        server = topo.start_server(Path(tmp))
        async with call_in_netns(topo, server) as call:
            for side in call.sides.values():
                await install_monitor(side.page)
            for number in range(rounds):
                kind = "cap" if number % 3 == 2 else "loss"
                results.append(await one_round(topo, call, kind, loss, cap, hold_s))
                print(results[-1], file=sys.stderr)
    figures: dict[str, object] = {"rounds": len(results), "loss": loss, "cap_kbit": cap}
    for kind in ("loss", "cap"):
        for key in ("poor", "alert_a", "alert_b", "clear_a", "clear_b"):
            figures[f"{kind}_{key}_ms_median"] = median(results, key, kind)
        figures[f"{kind}_missed"] = sum(
            1 for r in results if r["kind"] == kind and None in (r["alert_a"], r["alert_b"], r["clear_a"], r["clear_b"])
        )
    figures["wrong_side_alerts"] = sum(r["wrong"] for r in results)
    figures["rounds_detail"] = results
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="rounds; every third is an upload cap (default 9)")
    parser.add_argument("--loss", type=float, default=0.25, help="random loss probability on A (default 0.25)")
    parser.add_argument("--cap", type=int, default=120, help="A's upload cap in kbit/s (default 120)")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds the impairment stays after detection")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    figures = asyncio.run(run(3 if args.quick else args.rounds, args.loss, args.cap, args.hold))
    if not args.json:
        f = figures
        print(
            f"loss {args.loss:.0%}: A poor {f['loss_poor_ms_median']} ms, A alert {f['loss_alert_a_ms_median']} ms,"
            f" B alert {f['loss_alert_b_ms_median']} ms, cleared {f['loss_clear_a_ms_median']}/"
            f"{f['loss_clear_b_ms_median']} ms; cap {args.cap} kbit/s: A alert {f['cap_alert_a_ms_median']} ms,"
            f" B alert {f['cap_alert_b_ms_median']} ms; wrong-side alerts {f['wrong_side_alerts']}"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
