"""The FFmpeg layer with real ffmpeg/ffprobe: whitelist, watermark, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from peercall.recording import ffmpeg
from peercall.recording.ffmpeg import FfmpegError
from peercall.testing.recording import browser_like_webm, codecs, ffprobe


def frame(path: Path, at_s: float) -> np.ndarray:
    """One decoded frame as an RGB array."""
    info = ffprobe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    width, height = int(video["width"]), int(video["height"])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def test_recording_watermark_text_is_literal_except_time():
    assert ffmpeg.watermark_text("room 100% {time}") == "room 100\\% %{pts:hms}"
    assert ffmpeg.watermark_text("a\\b\nc") == "a\\\\bc"
    with pytest.raises(ValueError):
        ffmpeg.drawtext_filter(Path("/tmp/x:y'.txt"))


async def test_recording_probe_refuses_non_whitelisted_containers(tmp_path: Path):
    playlist = tmp_path / "evil.webm"  # an HLS playlist that would make ffmpeg open other files
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    with pytest.raises(FfmpegError) as info:
        await ffmpeg.probe(playlist)
    assert info.value.reason in ("unsupported_format", "bad_input")
    garbage = tmp_path / "noise.webm"
    garbage.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(FfmpegError):
        await ffmpeg.probe(garbage)


def test_recording_cli_transcode_with_and_without_watermark(tmp_path: Path):
    source = browser_like_webm(tmp_path / "in.webm", 3)
    outputs = {}
    for name, extra in (("plain", []), ("marked", ["--watermark", "room_42 {time}"])):
        out = tmp_path / f"{name}.mp4"
        run = subprocess.run(
            [sys.executable, "-m", "peercall.cli", "recording", "transcode", str(source), str(out), "--quiet", *extra],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        info = ffprobe(out)
        assert codecs(info) == {"video": "h264", "audio": "aac"}
        assert abs(float(info["format"]["duration"]) - 3.0) <= 0.5
        outputs[name] = frame(out, 1.5)
    plain, marked = outputs["plain"], outputs["marked"]
    h = plain.shape[0]
    region = (slice(h - h // 8, h), slice(0, plain.shape[1] // 3))  # bottom left: the watermark
    elsewhere = (slice(0, h // 2), slice(plain.shape[1] // 2, None))
    assert np.abs(marked[region] - plain[region]).mean() > 20
    assert np.abs(marked[elsewhere] - plain[elsewhere]).mean() < 3
    refused = subprocess.run(
        [sys.executable, "-m", "peercall.cli", "recording", "transcode", str(tmp_path / "none.webm"), "x.mp4"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2 and "no such file" in refused.stderr
