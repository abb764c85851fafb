"""How the network e2e tests decide that video "came back" (or never stopped)."""

from __future__ import annotations

from peercall.testing.netcall import recovery_frame, uninterrupted


def frames(start: float, end: float, step: float = 50.0) -> list[float]:
    return [start + i * step for i in range(int((end - start) / step))]


def test_recovery_is_the_first_frame_of_a_sustained_run_after_a_gap() -> None:
    stamps = [*frames(0, 1_000), 1_400.0, *frames(3_000, 5_000)]  # a stray frame, then the run
    assert recovery_frame(stamps, after_ms=1_000, now=5_000) == 3_000


def test_video_that_never_paused_has_no_recovery_frame_but_is_uninterrupted() -> None:
    stamps = frames(0, 6_000)
    assert recovery_frame(stamps, after_ms=1_000, now=6_000) is None
    assert uninterrupted(stamps, after_ms=1_000, now=6_000)


def test_uninterrupted_waits_for_its_window_and_sees_a_gap() -> None:
    stamps = frames(0, 6_000)
    assert not uninterrupted(stamps, after_ms=1_000, now=2_500)  # too early to tell
    with_gap = frames(0, 2_000) + frames(2_400, 6_000)
    assert not uninterrupted(with_gap, after_ms=1_000, now=6_000)
    stopped = frames(0, 1_200)
    assert not uninterrupted(stopped, after_ms=1_000, now=6_000)
