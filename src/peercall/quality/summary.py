"""A call's stats timeline reduced to what a support team reads first, per participant:
averages and p95 of RTT, loss, jitter, MOS, the worst level and the time spent in each level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from peercall.quality.model import LEVELS, Level, worse
from peercall.store.stats import StatsRow

# A row stands for the time until the same side's next row, at most this long (a gap
# longer than that is time without reports, not time at that level).
MAX_ROW_SPAN_S = 5.0
REPORT_INTERVAL_S = 2.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _figure(values: Iterable[float | None]) -> dict[str, float] | None:
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    return {
        "avg": round(sum(present) / len(present), 4),
        "min": round(min(present), 4),  # for MOS, the worst moment
        "p95": round(percentile(present, 95), 4),
        "max": round(max(present), 4),
    }


def _side_summary(rows: list[StatsRow]) -> dict[str, Any]:
    seconds: dict[str, float] = dict.fromkeys(LEVELS, 0.0)
    worst: Level = "excellent"
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        span = REPORT_INTERVAL_S if following is None else following.t - row.t
        level: Level = next((known for known in LEVELS if known == row.level), "poor")
        seconds[level] += min(max(span, 0.0), MAX_ROW_SPAN_S)
        worst = worse(worst, level)
    samples = [row.summary.get("sample", {}) for row in rows]
    return {
        "peer_id": rows[-1].peer_id,
        "identity": rows[0].identity,
        "reports": len(rows),
        "first_at": rows[0].t,
        "last_at": rows[-1].t,
        "worst_level": worst,
        "seconds_in_level": {level: round(s, 1) for level, s in seconds.items()},
        "mos": _figure(row.mos for row in rows),
        "rtt_ms": _figure(s.get("rtt_ms") for s in samples),
        "loss_in": _figure(s.get("loss_in") for s in samples),
        "loss_out": _figure(s.get("loss_out") for s in samples),
        "jitter_ms": _figure(s.get("jitter_ms") for s in samples),
        "kbps_in": _figure(s.get("kbps_in") for s in samples),
        "kbps_out": _figure(s.get("kbps_out") for s in samples),
        "fps_in": _figure(s.get("fps_in") for s in samples),
        "connection": (samples[-1].get("pair") or None) if samples else None,
    }


def summarize(rows: list[StatsRow]) -> list[dict[str, Any]]:
    """One summary per participant identity (a rejoin changes the peer id, not the person)."""
    by_identity: dict[str, list[StatsRow]] = {}
    for row in rows:
        by_identity.setdefault(row.identity, []).append(row)
    return [_side_summary(sorted(side, key=lambda r: r.t)) for side in by_identity.values()]
