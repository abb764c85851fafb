"""The post-processing of one recording: browser WebM in, small MP4 + thumbnail out.

Steps (each an FFmpeg run without a shell, see :mod:`peercall.recording.ffmpeg`):

1. probe the input (container whitelist) — a MediaRecorder WebM has no duration;
2. remux it (stream copy) into a seekable Matroska, which writes the Duration and the
   Cues (seek index) and gives us the duration for progress and time limits;
3. transcode to MP4 (H.264 + AAC, ``+faststart``) with the configured CRF/preset and
   optional watermark;
4. verify the result by probing it (H.264 video, AAC audio if the input had audio);
5. grab a thumbnail.

Outputs are written under temporary names and renamed into place only when every
step succeeded, so a failure or a kill never leaves a half file under a final name.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peercall.recording import ffmpeg
from peercall.recording.ffmpeg import FfmpegError, MediaInfo, TranscodeOptions

# (stage, fraction of the whole job 0..1)
StageProgress = Callable[[str, float], None]

# Share of the job's progress bar per stage (the transcode dominates the time).
_REMUX_SHARE = 0.05
_TRANSCODE_SHARE = 0.9


@dataclass(frozen=True)
class Limits:
    """Time limits: a fixed allowance plus a multiple of the media's duration."""

    base_s: float = 60.0
    per_media_s: float = 3.0
    probe_s: float = 30.0

    def for_duration(self, duration_s: float | None) -> float:
        return self.base_s + self.per_media_s * (duration_s or 3600.0)


@dataclass(frozen=True)
class Result:
    mp4: Path
    thumbnail: Path | None
    duration_s: float
    size: int
    source: MediaInfo
    output: MediaInfo
    elapsed_s: float


async def process(
    src: Path,
    mp4: Path,
    options: TranscodeOptions,
    *,
    thumbnail: Path | None = None,
    work_dir: Path | None = None,
    limits: Limits | None = None,
    on_progress: StageProgress | None = None,
) -> Result:
    """Turn ``src`` into ``mp4`` (and ``thumbnail``); raise :class:`FfmpegError` on failure."""
    limits = limits or Limits()
    work = work_dir or mp4.parent
    work.mkdir(parents=True, exist_ok=True)
    report = on_progress or (lambda _stage, _fraction: None)
    started = time.monotonic()
    temp = [work / f".{mp4.stem}.remux.mkv", work / f".{mp4.stem}.part.mp4", work / f".{mp4.stem}.wm.txt"]
    thumb_part = work / f".{mp4.stem}.thumb.jpg"
    try:
        report("probe", 0.0)
        source = await ffmpeg.probe(src, timeout_s=limits.probe_s)
        if source.video_codec is None:
            raise FfmpegError("bad_input", "the recording has no video stream")
        demuxer, readable = ffmpeg.demuxer_for(source), src
        if demuxer == "matroska":
            report("remux", 0.0)
            await ffmpeg.run(ffmpeg.remux_argv(src, temp[0], demuxer), timeout_s=limits.for_duration(None) / 4)
            readable = temp[0]
            source = await ffmpeg.probe(readable, timeout_s=limits.probe_s)
        duration = source.duration_s
        report("transcode", _REMUX_SHARE)
        text_file = None
        if options.watermark_text:
            text_file = temp[2]
            text_file.write_text(ffmpeg.watermark_text(options.watermark_text), encoding="utf-8")
        argv = ffmpeg.transcode_argv(
            readable,
            temp[1],
            ffmpeg.demuxer_for(source),
            options,
            has_audio=source.audio_codec is not None,
            text_file=text_file,
            source_height=source.height,
        )
        await ffmpeg.run(
            argv,
            timeout_s=limits.for_duration(duration),
            duration_s=duration,
            on_progress=lambda f: report("transcode", _REMUX_SHARE + _TRANSCODE_SHARE * f),
        )
        output = await ffmpeg.probe(temp[1], timeout_s=limits.probe_s)
        if output.video_codec != "h264" or (source.audio_codec and output.audio_codec != "aac"):
            raise FfmpegError("failed", f"unexpected output codecs {output.video_codec}/{output.audio_codec}")
        thumb_done = None
        if thumbnail is not None:
            report("thumbnail", _REMUX_SHARE + _TRANSCODE_SHARE)
            at = min(1.0, (output.duration_s or 0) / 2)
            await ffmpeg.run(ffmpeg.thumbnail_argv(temp[1], thumb_part, at), timeout_s=limits.base_s)
            _fsync(thumb_part)
            os.replace(thumb_part, thumbnail)
            thumb_done = thumbnail
        _fsync(temp[1])
        os.replace(temp[1], mp4)
        report("done", 1.0)
        return Result(
            mp4=mp4,
            thumbnail=thumb_done,
            duration_s=output.duration_s or 0.0,
            size=mp4.stat().st_size,
            source=source,
            output=output,
            elapsed_s=time.monotonic() - started,
        )
    finally:
        for path in [*temp, thumb_part]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
