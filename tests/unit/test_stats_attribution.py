"""Attribution and alert hysteresis of the SDK (network-quality.js, run under Node), fed with
assessments of the recorded Chromium samples (tests/unit/data/stats_samples.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from peercall.testing.jsmodel import node_available, run_js

pytestmark = pytest.mark.skipif(not node_available(), reason="node is not installed (scripts/setup.sh installs it)")

DATA = json.loads((Path(__file__).parent / "data" / "stats_samples.json").read_text())


def recorded(phase: str, side: str, index: int = 3) -> dict[str, Any]:
    return [e["sample"] for e in DATA["samples"] if e["phase"] == phase and e["side"] == side][index]


ATTRIBUTE = """
const local = quality.assess(input.sample);
const remote = input.remote ? { ...input.remote, ...(input.remote.sample ? (() => {
  const a = quality.assess(input.remote.sample);
  return { level: a.level, causes: a.causes, send_causes: a.send.causes,
           recv_level: a.recv.level, send_level: a.send.level };
})() : {}) } : null;
return nq.attribute(local, input.access, remote, input.recent ?? null);
"""


def attribute(
    sample: dict[str, Any], access: str, remote: dict[str, Any] | None, recent: dict[str, str] | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = run_js(
        ATTRIBUTE, [{"sample": sample, "access": access, "remote": remote, "recent": recent}]
    )[0]
    return result


def test_stats_attribution_by_server_path_probe() -> None:
    a_lossy, b_lossy = recorded("loss25_a", "a"), recorded("loss25_a", "b")
    # Both ends see the loss; only A's own path to the server is unstable: A is the problem.
    at_a = attribute(a_lossy, "unstable", {"sample": b_lossy, "access": "ok"})
    at_b = attribute(b_lossy, "ok", {"sample": a_lossy, "access": "unstable"})
    assert (at_a["blame"], at_a["reason"]) == ("local", "unstable") and "loss" in at_a["causes"]
    assert (at_b["blame"], at_b["reason"]) == ("remote", "unstable")
    # No side-specific evidence: honest "the path between you".
    assert attribute(b_lossy, "ok", {"sample": a_lossy, "access": "ok"})["blame"] == "path"
    assert attribute(b_lossy, "unstable", {"sample": a_lossy, "access": "unstable"})["blame"] == "path"
    assert attribute(b_lossy, "ok", None)["blame"] == "path"


def test_stats_attribution_by_sender_limits() -> None:
    capped = next(
        e["sample"] for e in DATA["samples"] if e["phase"] == "cap250_a" and e["sample"]["limitation"] == "bandwidth"
    )
    starved_view = recorded("cap250_a", "b", 1)
    at_a = attribute(capped, "ok", {"sample": starved_view, "access": "ok"})
    at_b = attribute(starved_view, "ok", {"sample": capped, "access": "ok"})
    assert (at_a["blame"], at_a["reason"], at_a["causes"]) == ("local", "upload", ["bandwidth"])
    assert (at_b["blame"], at_b["reason"]) == ("remote", "upload")
    cpu = {**recorded("clean", "a"), "limitation": "cpu", "fps_out": 5}
    assert attribute(cpu, "ok", None) == {"blame": "local", "causes": ["cpu"], "reason": "cpu"}


def test_stats_starved_estimate_after_loss_is_recovery_not_upload() -> None:
    """Recorded: B's bandwidth estimate collapsed with the loss on A's link; right after the
    loss ends B still sends starved video. That is A's problem ending, not B's upload."""
    b_after = next(
        e["sample"]
        for e in DATA["samples"]
        if e["phase"] == "recovered" and e["side"] == "b" and e["sample"]["limitation"] == "bandwidth"
    )
    a_after = recorded("recovered", "a", 1)
    assert attribute(b_after, "ok", {"sample": a_after, "access": "ok"})["reason"] == "upload"  # without memory
    recent = {"blame": "remote", "reason": "unstable"}
    at_b = attribute(b_after, "ok", {"sample": a_after, "access": "ok"}, recent)
    assert (at_b["blame"], at_b["reason"], at_b["recovering"]) == ("remote", "unstable", True)
    at_a = attribute(a_after, "ok", {"sample": b_after, "access": "ok"}, {"blame": "local", "reason": "unstable"})
    assert (at_a["blame"], at_a["recovering"]) == ("local", True)


def test_stats_probe_flip_right_after_blame_is_not_trusted() -> None:
    a_lossy, b_lossy = recorded("loss25_a", "a"), recorded("loss25_a", "b")
    recent = {"blame": "remote", "reason": "unstable"}  # B blamed A a moment ago
    flipped = attribute(b_lossy, "unstable", {"sample": a_lossy, "access": "ok"}, recent)
    assert (flipped["blame"], flipped["recovering"]) == ("path", True)  # does not become the new "recent"
    assert attribute(b_lossy, "ok", {"sample": a_lossy, "access": "unstable"}, recent)["blame"] == "remote"


def test_stats_attribution_clean_call_blames_nobody() -> None:
    clean_a, clean_b = recorded("clean", "a"), recorded("clean", "b")
    assert attribute(clean_a, "unstable", {"sample": clean_b, "access": "ok"})["blame"] is None


HYSTERESIS = """
const tracker = new nq.AlertTracker();
return input.map((blame) => tracker.update({ blame, causes: ['loss'], reason: 'x' })
  .map((c) => `${c.raised ? '+' : '-'}${c.side}`).join(','));
"""


def test_stats_alerts_have_hysteresis() -> None:
    seq = ["local", None, "local", "local", "local", None, "local", None, None, None, None, "path", "path"]
    seq += ["path", "path", "path", "remote", "remote"]
    (changes,) = run_js(HYSTERESIS, [seq])
    assert changes == [
        "", "", "", "+local", "", "", "", "", "", "", "-local",  # one blip raises nothing; 4 calm s clear
        "", "", "", "", "+path",  # the path alert waits 5 s
        "", "+remote",
    ]  # fmt: skip


def test_stats_level_filter_needs_two_samples_except_lost() -> None:
    script = """
    const f = new nq.LevelFilter();
    return input.map((level) => (f.push(level) ? f.level : ''));
    """
    (changes,) = run_js(script, [["excellent", "poor", "excellent", "poor", "poor", "lost", "good", "good"]])
    assert changes == ["excellent", "", "", "", "poor", "lost", "", "good"]


PROBE = """
let now = 10_000;
Date.now = () => now;
const p = new probe.AccessProbe();
p.stop(); // the stall detector needs a running event loop; time is simulated here
const sent = [];
const states = [];
for (const [rttMs, answered] of input) {
  now += 250;
  p.tick((frame) => sent.push(frame), true);
  const ping = sent.at(-1);
  now += rttMs;
  if (answered) p.pong({ type: 'pong', ts: ping.ts });
  states.push(p.state);
}
return { states, pings: sent.length };
"""


def test_stats_server_path_probe_flags_spikes_and_timeouts() -> None:
    steady = [(5, True)] * 6
    spikes = [(300, True), (5, True), (260, True)]
    (result,) = run_js(PROBE, [steady + spikes + [(5, True)] * 8])
    assert result["states"][:3] == ["unknown", "unknown", "ok"]
    assert result["states"][5:9] == ["ok", "ok", "ok", "unstable"]  # 2 spikes among the last 8
    assert result["states"][-1] == "ok"  # both spikes left the window
    # Unanswered pings count as bad once they are 2 s old.
    (lost,) = run_js(PROBE, [steady + [(0, False)] * 12])
    assert lost["states"][-1] == "unstable" and lost["states"][5] == "ok"
