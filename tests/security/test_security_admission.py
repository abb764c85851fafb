"""Connection admission limits, with a fake clock (no sockets, no sleeps)."""

from __future__ import annotations

import pytest

from peercall.errors import PeercallError
from peercall.signaling.admission import Admission, AdmissionLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(admission: Admission, ip: str) -> str | None:
    try:
        admission.admit(ip)
    except PeercallError as error:
        return error.code
    return None


def test_security_admission_caps_rates_and_penalties():
    clock = Clock()
    limits = AdmissionLimits(
        max_connections=5, max_per_ip=3, connect_rate_per_ip=1.0, connect_burst_per_ip=4, abuse_penalty_s=10.0
    )
    admission = Admission(limits, clock)
    assert [refusal(admission, "10.0.0.1") for _ in range(4)] == [None, None, None, "too_many_connections"]
    assert admission.open_from("10.0.0.1") == 3
    admission.release("10.0.0.1")
    admission.release("10.0.0.1")
    # A refusal by count spends no token: one is left of the burst of 4, then the rate refuses.
    assert refusal(admission, "10.0.0.1") is None
    assert refusal(admission, "10.0.0.1") == "too_many_connections"
    assert admission.open_from("10.0.0.1") == 2
    clock.now += 1.0
    assert refusal(admission, "10.0.0.1") is None
    # Node-wide cap: another address is told the server is busy.
    assert [refusal(admission, "10.0.0.2") for _ in range(3)] == [None, None, "server_busy"]
    assert admission.total == 5
    for _ in range(3):
        admission.release("10.0.0.1")
    admission.release("10.0.0.2")
    assert admission.total == 1 and admission.open_from("10.0.0.1") == 0
    # A flooder's address is refused for the penalty time, then admitted again.
    admission.penalize("10.0.0.3")
    admission.penalize("10.0.0.3")
    assert not admission.penalized("10.0.0.3"), "two strikes are not yet a penalty"
    admission.penalize("10.0.0.3")
    assert admission.penalized("10.0.0.3") and refusal(admission, "10.0.0.3") == "too_many_connections"
    clock.now += 10.5
    assert not admission.penalized("10.0.0.3") and refusal(admission, "10.0.0.3") is None
    assert admission.refused >= 5


@pytest.mark.parametrize("released_twice", [True])
def test_security_admission_release_never_goes_negative(released_twice: bool):
    admission = Admission(AdmissionLimits(max_connections=1))
    admission.admit("a")
    admission.release("a")
    if released_twice:
        admission.release("a")
    assert admission.total == 0
    admission.admit("b")
    assert refusal(admission, "c") == "server_busy"
