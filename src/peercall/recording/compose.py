"""Double-ender composition: each participant's own recording, aligned and side by side.

Each browser recorded its camera and microphone before network compression and told
us when it started, in server time (its clock plus the offset it measured over
signaling, NTP style; the error is at most half the round trip). The track that
started later is delayed by the difference: black frames (``tpad``) and silence
(``adelay``) in front, so both sides line up; then the pictures go side by side
(``hstack``) and the voices are mixed (``amix``), in one FFmpeg run to MP4.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from peercall.recording import ffmpeg
from peercall.recording.ffmpeg import FfmpegError, MediaInfo, TranscodeOptions
from peercall.recording.pipeline import Limits, Result, StageProgress
from peercall.recording.store import RecordingRow

TILE_W, TILE_H = 640, 360


def offsets_s(starts: list[float | None]) -> list[float]:
    """Delay of each track (s) relative to the earliest start (ms, server time); unknown → 0."""
    known = [s for s in starts if s is not None]
    if not known:
        return [0.0] * len(starts)
    first = min(known)
    return [max(0.0, ((s if s is not None else first) - first) / 1000.0) for s in starts]


def compose_argv(
    inputs: list[Path], infos: list[MediaInfo], delays: list[float], dst: Path, options: TranscodeOptions,
    text_file: Path | None,
) -> list[str]:  # fmt: skip
    """One FFmpeg run: each input delayed by its offset, pictures side by side, voices mixed."""
    argv = ffmpeg.base_argv()
    for path in inputs:
        argv += ["-f", "matroska", "-i", str(path)]
    parts: list[str] = []
    audio_labels: list[str] = []
    for i, (info, delay) in enumerate(zip(infos, delays, strict=True)):
        parts.append(
            f"[{i}:v]setpts=PTS-STARTPTS,fps=30,scale={TILE_W}:{TILE_H}:force_original_aspect_ratio=decrease,"
            f"pad={TILE_W}:{TILE_H}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
            f"tpad=start_duration={delay:.3f}:start_mode=add:color=black[v{i}]"
        )
        if info.audio_codec:
            parts.append(f"[{i}:a]asetpts=PTS-STARTPTS,aresample=48000,adelay={round(delay * 1000)}:all=1[a{i}]")
            audio_labels.append(f"[a{i}]")
    stacked = "".join(f"[v{i}]" for i in range(len(inputs))) + f"hstack=inputs={len(inputs)}"
    if text_file is not None:
        stacked += "," + ffmpeg.drawtext_filter(text_file)
    parts.append(stacked + "[v]")
    maps = ["-map", "[v]"]
    if audio_labels:
        parts.append(f"{''.join(audio_labels)}amix=inputs={len(audio_labels)}:duration=longest:normalize=0[a]")
        maps += ["-map", "[a]", "-c:a", "aac", "-b:a", f"{options.audio_bitrate_k}k", "-ac", "2"]
    argv += ["-filter_complex", ";".join(parts), *maps]
    argv += ["-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf), "-profile:v", "high"]
    if options.threads:
        argv += ["-threads", str(options.threads)]
    argv += ["-fps_mode", "vfr", "-movflags", "+faststart", "-f", "mp4", str(dst)]
    return argv


async def compose_tracks(
    row: RecordingRow,
    sources: list[Path],
    mp4: Path,
    options: TranscodeOptions,
    *,
    thumbnail: Path | None,
    limits: Limits,
    on_progress: StageProgress,
) -> Result:
    started = time.monotonic()
    work = mp4.parent
    remuxed = [work / f".{mp4.stem}.{i}.mkv" for i in range(len(sources))]
    part, text_file, thumb_part = work / f".{mp4.stem}.part.mp4", work / f".{mp4.stem}.wm.txt", work / ".thumb.jpg"
    try:
        infos: list[MediaInfo] = []
        for src, fixed in zip(sources, remuxed, strict=True):
            on_progress("remux", 0.0)
            info = await ffmpeg.probe(src, timeout_s=limits.probe_s)
            await ffmpeg.run(ffmpeg.remux_argv(src, fixed, ffmpeg.demuxer_for(info)), timeout_s=limits.base_s * 10)
            infos.append(await ffmpeg.probe(fixed, timeout_s=limits.probe_s))
        if any(info.video_codec is None for info in infos):
            raise FfmpegError("bad_input", "a track has no video")
        delays = offsets_s([t.clock.get("started_at") for t in row.tracks])
        duration = max(d + (info.duration_s or 0.0) for d, info in zip(delays, infos, strict=True))
        if options.watermark_text:
            text_file.write_text(ffmpeg.watermark_text(options.watermark_text), encoding="utf-8")
        argv = compose_argv(remuxed, infos, delays, part, options, text_file if options.watermark_text else None)
        await ffmpeg.run(
            argv,
            timeout_s=limits.for_duration(duration),
            duration_s=duration,
            on_progress=lambda f: on_progress("compose", 0.05 + 0.9 * f),
        )
        output = await ffmpeg.probe(part, timeout_s=limits.probe_s)
        if output.video_codec != "h264":
            raise FfmpegError("failed", f"unexpected output codec {output.video_codec}")
        if thumbnail is not None:
            at = min(1.0, (output.duration_s or 0) / 2)
            await ffmpeg.run(ffmpeg.thumbnail_argv(part, thumb_part, at), timeout_s=limits.base_s)
            os.replace(thumb_part, thumbnail)
        os.replace(part, mp4)
        on_progress("done", 1.0)
        return Result(
            mp4=mp4,
            thumbnail=thumbnail,
            duration_s=output.duration_s or 0.0,
            size=mp4.stat().st_size,
            source=infos[0],
            output=output,
            elapsed_s=time.monotonic() - started,
        )
    finally:
        for path in [*remuxed, part, text_file, thumb_part]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
