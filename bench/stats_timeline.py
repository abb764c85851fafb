"""Stats timeline write throughput: group commit vs one transaction per report.

Every SDK sends a ``stats`` report every ~2 s and the server appends it to the call's
timeline: at a million users that is ~500 k rows/s (docs/scaling.md). The baseline, run in
the same invocation, is what the server did before batching: one INSERT transaction per
report; measured: the timeline's group commit (reports arriving while a transaction is
in flight share the next one). Both on SQLite (the embedded default) and on a real PostgreSQL server. Reports
arrive concurrently, as from many sessions on one node (``--writers`` coroutines).

Figures (JSON keys): ``sqlite_single_rows_per_s`` / ``sqlite_batched_rows_per_s`` /
``sqlite_ratio`` and the same with ``postgres_``; ``ratio`` = batched / single.

    python bench/stats_timeline.py [--rows N] [--writers W] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.store import open_store  # noqa: E402
from peercall.store.sql import SqlStore  # noqa: E402
from peercall.store.stats import StatsRow, StatsTimeline  # noqa: E402
from peercall.store.tables.stats import stats_rows  # noqa: E402
from peercall.testing.postgres_server import start_postgres  # noqa: E402

SUMMARY = {  # a typical report's summary (~0.5 KiB of JSON)
    "level": "good",
    "mos": 4.21,
    "causes": [],
    "recv_level": "good",
    "send_level": "excellent",
    "access": "ok",
    "sample": {"rtt_ms": 41.2, "jitter_ms": 3.1, "loss_in": 0.0, "kbps_in": 1210.4, "kbps_out": 1190.2, "fps_in": 29.8},
}


def _row(n: int, writer: int, calls: int) -> StatsRow:
    return StatsRow(f"call-{n % calls}", f"p{writer}", "user", time.time(), "good", 4.2, "good", SUMMARY)


async def _write(store: SqlStore, rows: int, writers: int, calls: int, *, single: bool) -> float:
    """Rows per second appended by ``writers`` concurrent sessions."""
    timeline = StatsTimeline(store.engine, 10**9)

    async def one_transaction(row: StatsRow) -> None:  # the baseline: what append did before
        values = {**row.__dict__, "summary": json.dumps(row.summary, separators=(",", ":"))}
        async with store.engine.begin() as conn:
            await conn.execute(stats_rows.insert().values(**values))

    async def writer(index: int) -> None:
        for n in range(index, rows, writers):
            row = _row(n, index, calls)
            await (one_transaction(row) if single else timeline.append(row))

    for c in range(calls):  # the per-call row counters are read once, outside the timing
        await timeline.append(_row(c, 0, calls))
    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    return rows / (time.perf_counter() - started)


async def _measure(url: str, rows: int, writers: int) -> tuple[float, float]:
    store = await open_store(url)
    assert isinstance(store, SqlStore)
    try:
        calls = max(1, writers // 2)
        single = await _write(store, rows, writers, calls, single=True)
        batched = await _write(store, rows, writers, calls, single=False)
        return single, batched
    finally:
        await store.close()


async def run(rows: int, writers: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await _measure(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite'}", rows, writers)
    postgres_server = start_postgres()
    try:
        postgres = await _measure(postgres_server.create_database("bench_stats"), rows, writers)
    finally:
        postgres_server.stop()
    for name, (single, batched) in (("sqlite", sqlite), ("postgres", postgres)):
        figures[f"{name}_single_rows_per_s"] = round(single)
        figures[f"{name}_batched_rows_per_s"] = round(batched)
        figures[f"{name}_ratio"] = round(batched / single, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=200, help="concurrent sessions reporting (default 200)")
    parser.add_argument("--quick", action="store_true", help="3,000 rows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = 3_000 if args.quick else args.rows
    figures = asyncio.run(run(rows, args.writers))
    for name in ("sqlite", "postgres"):
        print(
            f"{name}: one transaction per report {figures[f'{name}_single_rows_per_s']} rows/s, "
            f"batched {figures[f'{name}_batched_rows_per_s']} rows/s (x{figures[f'{name}_ratio']})"
        )
    if args.json:
        print(json.dumps({"rows": rows, "writers": args.writers, **figures}))


if __name__ == "__main__":
    main()
