"""The quality model on stats samples recorded from real Chromium calls (tests/unit/data/,
made by scripts/record_stats_samples.py: clean, 25 % loss on A, recovery, A's upload capped).

The Python model (server) and the JS model (SDK, run under Node) must agree on every sample,
and the browser's own live assessment, recorded with the sample, must agree too.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from peercall.quality.model import assess, emodel
from peercall.testing.jsmodel import node_available, run_js

DATA = json.loads((Path(__file__).parent / "data" / "stats_samples.json").read_text())
SAMPLES: list[dict[str, Any]] = DATA["samples"]


def of(phase: str, side: str) -> list[dict[str, Any]]:
    return [entry["sample"] for entry in SAMPLES if entry["phase"] == phase and entry["side"] == side]


def comparable(assessment: dict[str, Any]) -> dict[str, Any]:
    """Levels and causes exactly, MOS to 1e-9 (float formatting differs, arithmetic does not)."""

    def mos(value: float | None) -> float | None:
        return None if value is None else round(value, 9)

    return {
        "level": assessment["level"],
        "mos": mos(assessment["mos"]),
        "causes": assessment["causes"],
        "recv": {**assessment["recv"], "mos": mos(assessment["recv"]["mos"])},
        "send": {**assessment["send"], "mos": mos(assessment["send"]["mos"])},
    }


def test_stats_recording_covers_every_phase() -> None:
    assert DATA["phases"] == ["clean", "loss25_a", "recovered", "cap250_a"]
    for phase in DATA["phases"]:
        for side in ("a", "b"):
            assert len(of(phase, side)) >= 5, (phase, side)


def test_stats_clean_call_rates_excellent() -> None:
    for side in ("a", "b"):
        levels = [assess(s).level for s in of("clean", side)]
        assert set(levels) == {"excellent"}, (side, levels)


def test_stats_random_loss_rates_poor_with_cause_loss() -> None:
    # Both sides see the loss (A receives through it, B's packets to A are lost).
    for side in ("a", "b"):
        rated = [assess(s) for s in of("loss25_a", side)[1:]]  # the first second straddles the change
        assert all(r.level == "poor" for r in rated), (side, [r.level for r in rated])
        assert all("loss" in r.causes for r in rated)
    # A measures the loss on what it receives; B learns it from A's receiver reports.
    assert all("loss" in assess(s).recv.causes for s in of("loss25_a", "a")[1:])
    assert all("loss" in assess(s).send.causes for s in of("loss25_a", "b")[1:])


def test_stats_capped_upload_is_a_bandwidth_limited_sender() -> None:
    rated = [assess(s) for s in of("cap250_a", "a")]
    assert sum("bandwidth" in r.send.causes for r in rated) >= 3, [r.causes for r in rated]
    assert all(not r.recv.causes for r in rated)  # A's download is fine
    # B receives A's starved video: low frame rate / freezes.
    b_rated = [assess(s) for s in of("cap250_a", "b")]
    assert any(r.level == "poor" and {"framerate", "freeze"} & set(r.recv.causes) for r in b_rated)


# Seen on a loaded CI machine: B's encoder still at its start-up 240p / 10 fps / 128 kbit/s,
# reported as "bandwidth" limited, under a 4 Mbit/s estimate.
RAMPING_UP = {
    "packets_in": 50,
    "limitation": "bandwidth",
    "fps_out": 10,
    "height_out": 240,
    "kbps_out": 128.5,
    "avail_out_kbps": 4147.4,
}


def test_stats_encoder_ramping_up_under_an_ample_estimate_is_not_an_upload_problem() -> None:
    ramping = assess(RAMPING_UP)
    assert (ramping.send.level, ramping.send.causes) == ("good", [])
    capped = assess({**RAMPING_UP, "avail_out_kbps": 190})  # the same figures under a starved estimate
    assert (capped.send.level, capped.send.causes) == ("poor", ["bandwidth"])


def test_stats_python_model_matches_the_browser_live_assessment() -> None:
    for entry in SAMPLES:
        assert comparable(asdict(assess(entry["sample"]))) == comparable(entry["js"]), entry["sample"]


@pytest.mark.skipif(not node_available(), reason="node is not installed (scripts/setup.sh installs it)")
def test_stats_js_model_under_node_matches_python() -> None:
    synthetic = [
        {"packets_in": 0},
        {"packets_in": 50, "rtt_ms": 900, "jitter_ms": 80, "loss_in": 0.02},
        {"packets_in": 50, "rtt_ms": 20, "loss_in": 0.07, "fps_in": 30, "height_in": 720},
        {"packets_in": 50, "loss_out": 0.5, "limitation": "cpu", "fps_out": 4, "height_out": 180, "kbps_out": 90},
        {"packets_in": 50, "fps_in": 12, "freeze_in": 0.1, "height_in": 180},
        RAMPING_UP,
        {**RAMPING_UP, "avail_out_kbps": 190},
        {"packets_in": 50, "rtt_ms": float("nan"), "loss_in": True},  # junk is ignored alike
    ]
    inputs = [entry["sample"] for entry in SAMPLES] + [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in s.items()} for s in synthetic
    ]
    js = run_js("return quality.assess(input);", inputs)
    for sample, from_js in zip(inputs, js, strict=True):
        assert comparable(from_js) == comparable(asdict(assess(sample))), sample


def test_stats_emodel_reference_points() -> None:
    """Anchors from docs/quality.md: no impairment ≈ 4.4; 5 % loss good; 10 % poor; 1 s RTT poor."""
    assert emodel(0, 0, 0)[0] == pytest.approx(4.40, abs=0.01)
    assert 3.5 <= emodel(50, 5, 0.05)[0] < 4.0
    mos, causes = emodel(50, 5, 0.10)
    assert mos < 3.5 and causes == ["loss"]
    mos, causes = emodel(1000, 0, 0)
    assert mos < 3.5 and causes == ["latency"]
    losses = [emodel(40, 5, p / 100)[0] for p in range(0, 40, 2)]
    assert losses == sorted(losses, reverse=True)
