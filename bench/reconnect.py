"""Reconnect latency: network restored → media flowing again, two real Chromium peers.

Topology (src/peercall/testing/netns.py): Chromium A and B each in its own network
namespace, routed through a router namespace that runs the peercall server. Each cut:
a fresh call (new room) decoding video both ways for ``--settle`` seconds, then A's link goes down for
``--outage`` seconds (default 5: a Wi-Fi drop; long enough for ICE and the SDK to notice,
shorter than ICE `failed` at ~15 s) and comes back up. The figure is the time from link-up
to the first new decoded remote frame that starts sustained playback, on *both* pages
(the later of the two: the call is back when both people see each other again).

Baseline in the same run, interleaved with the cuts: the same outage as a UDP-only block
(iptables DROP in A; the interface, its address and the signaling TCP connection stay up).
It isolates what losing the interface costs on top of losing the media path.

Why the call runs ``--settle`` seconds (default 10) before its cut: the receiving
browser places each frame in time by extrapolating the sender's RTP clock from what it
has seen; a call only ~2 s old has a poor estimate, and extrapolated over a 5 s outage it
puts the first frames after the outage 0.3–0.8 s in the future (measured with
``--trace``: the first key frame after link-up waited 0.6–0.8 s in the jitter buffer,
``jitterBufferDelay``). A call that drops Wi-Fi is usually minutes old; 10 s is still
young. ``--settle 1`` reproduces the young-call case.

    python bench/reconnect.py [--cuts N] [--outage S] [--settle S] [--quick] [--no-baseline] [--json] [--trace]

Needs root (network namespaces); run it like the tests: ``scripts/in-testnet.sh`` or
``ip netns exec pctest``. The last line of ``--json`` output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing.netcall import NetCall, call_in_netns, join_call, leave_call  # noqa: E402
from peercall.testing.netns import Topology, topology  # noqa: E402

RECOVERY_TIMEOUT_S = 30.0
TRACE = False  # --trace: every cut's timelines and video RTP counters on stderr
TRACE_AFTER_S = 15.0  # --trace: how long after link-up the counters are followed

# --trace: both pages sample their video RTP counters every 100 ms (who asked for a key
# frame, when one was encoded, sent, received and decoded), printed around each link-up.
STATS_SAMPLER_JS = r"""
() => {
  if (window.__st) return;
  window.__st = [];
  const pick = (s, keys) => Object.fromEntries(keys.map(([short, key]) => [short, s[key]]));
  const OUT = [['enc', 'framesEncoded'], ['keyEnc', 'keyFramesEncoded'], ['pliIn', 'pliCount'],
    ['firIn', 'firCount'], ['nackIn', 'nackCount'], ['sentB', 'bytesSent'], ['limit', 'qualityLimitationReason'],
    ['target', 'targetBitrate'], ['outW', 'frameWidth']];
  const IN = [['dec', 'framesDecoded'], ['keyDec', 'keyFramesDecoded'], ['pliOut', 'pliCount'],
    ['firOut', 'firCount'], ['nackOut', 'nackCount'], ['recvB', 'bytesReceived'], ['recvF', 'framesReceived'],
    ['lost', 'packetsLost'], ['dropF', 'framesDropped'], ['jbDelay', 'jitterBufferDelay'],
    ['jbTarget', 'jitterBufferTargetDelay'], ['jbEmit', 'jitterBufferEmittedCount'], ['freezes', 'freezeCount'],
    ['jbMin', 'jitterBufferMinimumDelay']];
  const AUDIO = [['aDelay', 'jitterBufferDelay'], ['aEmit', 'jitterBufferEmittedCount'],
    ['aTarget', 'jitterBufferTargetDelay']];
  setInterval(async () => {
    const report = window.peercallCall && await window.peercallCall.getStats();
    if (!report) return;
    const row = { t: Date.now() };
    report.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') Object.assign(row, pick(s, OUT));
      if (s.type === 'inbound-rtp' && s.kind === 'video') Object.assign(row, pick(s, IN));
      if (s.type === 'inbound-rtp' && s.kind === 'audio') Object.assign(row, pick(s, AUDIO));
      if (s.type === 'transport') {
        Object.assign(row, { ice: s.iceState, dtls: s.dtlsState, pair: s.selectedCandidatePairId });
      }
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') row.avail = s.availableOutgoingBitrate;
    });
    window.__st.push(row);
    if (window.__st.length > 3000) window.__st.splice(0, 1500);
  }, 100);
}
"""


async def stats_trace(call: NetCall, start_ms: float, end_ms: float) -> str:
    """Both pages' sampled counters in [start_ms, end_ms], one line per sample that changed something."""
    lines = []
    for label in ("a", "b"):
        rows = await call[label].page.evaluate(
            "([s, e]) => (window.__st || []).filter((r) => r.t >= s && r.t <= e)", [start_ms, end_ms]
        )
        last: dict[str, Any] = {}
        for row in rows:
            changed = {k: v for k, v in row.items() if k != "t" and last.get(k) != v}
            # Cumulative delays as the mean per frame (or audio sample) emitted since the last row, in ms.
            for emit, keys in (("jbEmit", ("jbDelay", "jbTarget", "jbMin")), ("aEmit", ("aDelay", "aTarget"))):
                if last.get(emit) is not None and row.get(emit, 0) > last[emit]:
                    for key in keys:
                        if row.get(key) is not None:
                            changed[key] = round(1000 * (row[key] - last[key]) / (row[emit] - last[emit]))
                else:
                    for key in keys:
                        changed.pop(key, None)
            last = row
            if changed:
                lines.append((row["t"], f"[{label}] stats {(row['t'] - start_ms) / 1000:+7.2f}s {changed}"))
    return "\n".join(text for _, text in sorted(lines))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarize(fault: str, outage_s: float, samples: list[dict[str, float | None]]) -> dict[str, object]:
    """Figures of one series; a cut that did not recover within the timeout counts as a failure."""
    both = [s["both"] for s in samples if s["both"] is not None]
    out: dict[str, object] = {
        "fault": fault,
        "outage_s": outage_s,
        "cuts": len(samples),
        "recovered": len(both),
        "timeout_s": RECOVERY_TIMEOUT_S,
    }
    if both:
        out |= {
            "median_ms": round(statistics.median(both), 1),
            "p95_ms": round(percentile(both, 0.95), 1),
            "min_ms": round(min(both), 1),
            "max_ms": round(max(both), 1),
        }
    for side in ("a", "b"):
        values = [v for s in samples if (v := s[side]) is not None]
        out[f"{side}_receives_median_ms"] = round(statistics.median(values), 1) if values else None
    out["samples_ms"] = [None if s["both"] is None else round(s["both"], 1) for s in samples]
    return out


async def one_cut(
    topo: Topology, call: NetCall, fault: str, outage_s: float, settle_s: float
) -> dict[str, float | None]:
    """Fresh call, one outage of A, time from restore to media flowing both ways again."""
    await join_call(call)
    if TRACE:
        await asyncio.gather(*(call[s].page.evaluate(STATS_SAMPLER_JS) for s in ("a", "b")))
    await asyncio.sleep(settle_s)
    if fault == "link-down":
        topo.link_down("a")
        await asyncio.sleep(outage_s)
        restored = topo.link_up("a")
    else:
        topo.block_udp("a")
        await asyncio.sleep(outage_s)
        restored = topo.unblock_udp("a")
    a, b = await asyncio.gather(*(call[s].wait_recovery(restored, RECOVERY_TIMEOUT_S) for s in ("a", "b")))
    if TRACE:  # watch 15 s after link-up: delays that last (audio buffer, video timing) show there
        await asyncio.sleep(max(0.0, restored / 1000 + TRACE_AFTER_S - time.time()))
    both = None if a is None or b is None else max(a, b)
    if both is None:
        print(f"  {fault}: NOT recovered within {RECOVERY_TIMEOUT_S:.0f} s", file=sys.stderr)
    if both is None or TRACE:
        print(await call.timelines(restored - outage_s * 1000 - 500), file=sys.stderr)
        if TRACE:
            print(await stats_trace(call, restored - 1000, restored + TRACE_AFTER_S * 1000), file=sys.stderr)
    await leave_call(call)
    return {"a": a, "b": b, "both": both}


async def run(
    cuts: int, outage_s: float, settle_s: float, baseline: bool, chromium_args: tuple[str, ...] = ()
) -> dict[str, object]:
    faults = ["link-down", "udp-block"] if baseline else ["link-down"]
    series: dict[str, list[dict[str, float | None]]] = {fault: [] for fault in faults}
    started = time.monotonic()
    version = _git_version()
    with tempfile.TemporaryDirectory() as tmp, topology(Path(tmp)) as topo:
        server = topo.start_server(Path(tmp))
        async with call_in_netns(topo, server, chromium_args=chromium_args) as call:
            for number in range(1, cuts + 1):
                for fault in faults:  # interleaved: drift (CPU, caches) hits both series alike
                    sample = await one_cut(topo, call, fault, outage_s, settle_s)
                    series[fault].append(sample)
                    shown = {k: None if v is None else round(v) for k, v in sample.items()}
                    print(f"cut {number}/{cuts} {fault} {outage_s:g} s: {shown} ms", file=sys.stderr)
    figures = summarize("link-down", outage_s, series["link-down"])
    if baseline:
        base = summarize("udp-block", outage_s, series["udp-block"])
        figures["baseline"] = base
        if figures.get("median_ms") is not None and base.get("median_ms"):
            figures["ratio_to_baseline"] = round(float(str(figures["median_ms"])) / float(str(base["median_ms"])), 2)
    figures["goal_median_ms"] = 1000
    figures["settle_s"] = settle_s
    if chromium_args:
        figures["chromium_args"] = list(chromium_args)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    # The SDK is re-fetched by every call: say so if the code changed under the run.
    figures["product"] = version if _git_version() == version else f"{version} (changed during the run)"
    return figures


def _git_version() -> str:
    """Which code was measured: commit, plus a hash of local changes under src/ if any."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent, check=False).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
        local = git("diff", "HEAD", "--", "src") + git("ls-files", "--others", "--exclude-standard", "src")
    except OSError:
        return "unknown"
    return f"{head}+local-{hashlib.sha256(local.encode()).hexdigest()[:8]}" if local else head


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cuts", type=int, default=10, help="outages per series (default 10)")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the link stays down (default 5)")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds the fresh call runs before its cut (default 10)"
    )
    parser.add_argument(
        "--chromium-arg",
        action="append",
        default=[],
        help="extra Chromium flag for both browsers (repeatable), e.g. a --force-fieldtrials diagnosis",
    )
    parser.add_argument("--quick", action="store_true", help="3 cuts per series")
    parser.add_argument("--no-baseline", action="store_true", help="skip the UDP-block baseline series")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--trace", action="store_true", help="print both sides' event timelines of every cut")
    args = parser.parse_args()
    global TRACE
    TRACE = args.trace
    cuts = 3 if args.quick else args.cuts
    figures = asyncio.run(run(cuts, args.outage, args.settle, not args.no_baseline, tuple(args.chromium_arg)))
    if not args.json:
        base = figures.get("baseline")
        base_text = f"; baseline UDP block median {base.get('median_ms')} ms" if isinstance(base, dict) else ""
        print(
            f"link down {args.outage:g} s x{figures['cuts']} (recovered {figures['recovered']}): "
            f"median={figures.get('median_ms')} ms p95={figures.get('p95_ms')} ms{base_text}"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
