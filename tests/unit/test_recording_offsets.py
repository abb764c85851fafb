"""Double-ender alignment and the compose command line (no FFmpeg run)."""

from __future__ import annotations

from pathlib import Path

from peercall.recording.compose import compose_argv, offsets_s
from peercall.recording.ffmpeg import MediaInfo, TranscodeOptions


def test_recording_offsets_delay_the_later_track():
    assert offsets_s([1_000_000.0, 1_002_500.0]) == [0.0, 2.5]
    assert offsets_s([1_002_500.0, 1_000_000.0]) == [2.5, 0.0]
    assert offsets_s([None, 5000.0]) == [0.0, 0.0]  # unknown start: aligned to the earliest
    assert offsets_s([None, None]) == [0.0, 0.0]


def test_recording_compose_argv_pads_mixes_and_never_uses_a_shell():
    info = MediaInfo("matroska,webm", 5.0, 1000, "vp8", "opus", 640, 360)
    argv = compose_argv(
        [Path("/r/a.mkv"), Path("/r/b.mkv")], [info, info], [0.0, 2.5], Path("/r/o.mp4"), TranscodeOptions(), None
    )
    assert argv[0] == "ffmpeg" and argv.count("-i") == 2 and argv.count("-f") >= 3
    graph = argv[argv.index("-filter_complex") + 1]
    assert "tpad=start_duration=2.500" in graph and "adelay=2500:all=1" in graph
    assert "hstack=inputs=2" in graph and "amix=inputs=2" in graph
    assert argv[-1] == "/r/o.mp4" and "+faststart" in argv
