"""The JSON contract of `turn test`, the exit verdict, and the metrics registry."""

import json

import pytest

from peercall.observability.metrics import Metrics
from peercall.turn.report import Check, Credential, NegativeProbe, ProbeReport


def _report(*checks: Check, negative: list[NegativeProbe] | None = None) -> ProbeReport:
    return ProbeReport(list(checks), negative or [], Credential("1:x", 1), 12.5)


def test_turn_report_json_contract():
    report = _report(
        Check("stun", "stun:h:3478", ok=True, rtt_ms=1.0),
        Check("udp", "turn:h:3478?transport=udp", ok=False, reason="auth rejected", reason_code="auth_rejected"),
        negative=[NegativeProbe("relay", "turn:h", "127.0.0.1", "relayed", "granted")],
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    for check in data["checks"]:
        assert {"transport", "ok", "reason", "allocate_ms", "rtt_ms"} <= check.keys()
    assert [c["transport"] for c in data["checks"]] == ["stun", "udp"]
    assert data["dangerous"] == [
        {"probe": "relay", "server": "turn:h", "target": "127.0.0.1", "outcome": "relayed", "detail": "granted"}
    ]


def test_turn_report_ok_only_when_everything_works_and_nothing_is_dangerous():
    good = Check("udp", "turn:h", ok=True)
    assert _report(good).ok
    assert not _report().ok  # nothing checked is not a pass
    assert _report(good, negative=[NegativeProbe("auth", "turn:h", "wrong secret", "refused", "")]).ok
    assert not _report(good, negative=[NegativeProbe("auth", "turn:h", "wrong secret", "relayed", "")]).ok
    assert _report(good, negative=[NegativeProbe("relay", "turn:h", "10.0.0.1", "inconclusive", "")]).ok


def test_turn_metrics_registry_is_per_instance_and_get_or_create():
    one, two = Metrics(process=False), Metrics(process=False)
    gauge = one.gauge("turn_check_up", "doc", ("region",))
    assert one.gauge("turn_check_up", "doc", ("region",)) is gauge
    two.gauge("turn_check_up", "doc", ("region",))  # no clash across registries
    gauge.labels("eu").set(1)
    one.counter("turn_things", "doc").inc()
    body, content_type = one.render()
    assert b'peercall_turn_check_up{region="eu"} 1.0' in body and b"peercall_turn_things_total 1.0" in body
    assert content_type.startswith("text/plain")
    with pytest.raises(ValueError):
        one.counter("turn_check_up", "doc", ("region",))
