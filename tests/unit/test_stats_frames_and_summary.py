"""The `stats` frame schema (bounded, strict) and the call summary arithmetic."""

from __future__ import annotations

import json

import pytest

from peercall.errors import PeercallError
from peercall.quality.summary import percentile, summarize
from peercall.signaling.messages import parse_client_frame
from peercall.store.stats import StatsRow

FULL = {
    "type": "stats",
    "level": "poor",
    "mos": 2.13,
    "causes": ["loss", "latency", "jitter", "bandwidth", "cpu", "freeze", "framerate", "no_media"],
    "recv_level": "poor",
    "send_level": "lost",
    "recv_causes": ["loss", "latency", "jitter", "bandwidth", "cpu", "freeze", "framerate", "no_media"],
    "send_causes": ["loss", "latency", "jitter", "bandwidth", "cpu", "freeze", "framerate", "no_media"],
    "access": "unstable",
    "sample": {
        **{k: 599_999.9 for k in ("rtt_ms", "jitter_ms", "jitter_out_ms")},
        **{k: 1.0 for k in ("loss_in", "loss_out", "freeze_in")},
        **{k: 9_999_999.9 for k in ("kbps_in", "kbps_out", "avail_out_kbps")},
        "packets_in": 10_000_000,
        **{k: 999.9 for k in ("fps_in", "fps_out")},
        **{k: 16_384 for k in ("width_in", "height_in", "width_out", "height_out")},
        "limitation": "bandwidth",
        "pair": {"local": "relay", "remote": "srflx", "protocol": "tcp", "relay_protocol": "tls"},
    },
}


def test_stats_frame_largest_valid_is_small() -> None:
    frame = parse_client_frame(json.dumps(FULL))
    assert frame.type == "stats"
    assert len(json.dumps(FULL)) < 2000  # what the server stores and forwards, at most


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"level": "terrible"}, "level"),
        ({"causes": ["loss"] * 9}, "causes"),
        ({"causes": ["<script>"]}, "causes.0"),
        ({"mos": 7}, "mos"),
        ({"access": "great"}, "access"),
        ({"sample": {**FULL["sample"], "loss_in": 1.5}}, "sample.loss_in"),
        ({"sample": {**FULL["sample"], "rtt_ms": -1}}, "sample.rtt_ms"),
        ({"sample": {**FULL["sample"], "limitation": "x" * 10_000}}, "sample.limitation"),
        ({"sample": {**FULL["sample"], "pair": {"local": "relay", "url": "turn:x"}}}, "sample.pair.url"),
        ({"sample": {**FULL["sample"], "note": "extra"}}, "sample.note"),
        ({"peer_id": "p_x"}, "peer_id"),
    ],
)
def test_stats_frame_rejects_out_of_bounds(change: dict, where: str) -> None:
    with pytest.raises(PeercallError) as info:
        parse_client_frame(json.dumps({**FULL, **change}))
    assert info.value.code == "bad_message" and f"stats: {where}:" in info.value.message


def row(identity: str, t: float, level: str, rtt: float | None, mos: float | None = 4.0) -> StatsRow:
    summary = {"sample": {} if rtt is None else {"rtt_ms": rtt}}
    return StatsRow("call_1", f"p_{identity}", identity, t, level, mos, level, summary)


def test_stats_summary_levels_time_and_percentiles() -> None:
    assert percentile([5, 1, 3, 2, 4], 95) == 5 and percentile([5, 1, 3, 2, 4], 50) == 3
    rows = [
        row("ana", 100, "excellent", 20),
        row("ana", 102, "poor", 400, 2.0),
        row("ana", 104, "poor", None, None),
        row("ana", 120, "good", 30),  # 16 s without a report before it: counted as 5 s at most
        row("bo", 101, "lost", None, None),
    ]
    ana, bo = summarize(rows)
    assert ana["identity"] == "ana" and ana["reports"] == 4 and ana["worst_level"] == "poor"
    assert ana["seconds_in_level"] == {"lost": 0.0, "poor": 7.0, "good": 2.0, "excellent": 2.0}
    assert ana["rtt_ms"] == {"avg": 150.0, "min": 20.0, "p95": 400.0, "max": 400.0}
    assert ana["mos"] == {"avg": 3.3333, "min": 2.0, "p95": 4.0, "max": 4.0}
    assert bo["worst_level"] == "lost" and bo["rtt_ms"] is None and bo["mos"] is None
