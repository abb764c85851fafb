"""FFmpeg without a shell: probe with an input-format whitelist, argv builders, a runner
with a time limit and progress parsed from ``-progress pipe:1``.

Nothing here ever goes through ``sh``: every command is an argv list, every input is
probed first and then read with its demuxer forced (``-f``), so a file that claims to be
a WebM but is an HLS playlist or a concat script can never make FFmpeg open other files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# ffprobe format_name → the demuxer we force when reading it. Nothing else is opened.
INPUT_FORMATS: dict[str, str] = {
    "matroska,webm": "matroska",
    "mov,mp4,m4a,3gp,3g2,mj2": "mov",
}
FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

Progress = Callable[[float], None]


class FfmpegError(Exception):
    """FFmpeg or ffprobe failed, timed out or refused the input; ``reason`` is a stable word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # bad_input | unsupported_format | timeout | failed


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration_s: float | None
    size: int
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class TranscodeOptions:
    """x264/AAC settings. Defaults meet the bench goals (≥10× smaller than a 2.5 Mbit/s
    browser WebM, SSIM ≥ 0.95, ≥3× realtime on 2 cores)."""

    crf: int = 30
    preset: str = "veryfast"
    tune: str | None = None
    audio_bitrate_k: int = 64
    threads: int = 0  # 0: x264 picks (all cores)
    watermark_text: str | None = None
    watermark_image: Path | None = None
    max_height: int = 1080

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError("crf must be 0..51")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}")
        if self.tune is not None and self.tune not in X264_TUNES:
            raise ValueError("unknown x264 tune")
        if not 16 <= self.audio_bitrate_k <= 320:
            raise ValueError("audio bitrate must be 16..320 kbit/s")


X264_TUNES = ("film", "animation", "grain", "stillimage", "fastdecode", "zerolatency", "ssim", "psnr")
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


async def probe(path: Path, *, timeout_s: float = 30) -> MediaInfo:
    """Identify a file; raise ``unsupported_format`` unless its container is whitelisted."""
    argv = [FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json", "--", str(path)]
    code, out, err = await _run_capture(argv, timeout_s)
    if code != 0:
        raise FfmpegError("bad_input", f"ffprobe could not read the file: {err.strip()[-300:]}")
    data = json.loads(out or "{}")
    fmt = data.get("format", {})
    name = str(fmt.get("format_name", ""))
    if name not in INPUT_FORMATS:
        raise FfmpegError("unsupported_format", f"container {name!r} is not accepted")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration"))
    return MediaInfo(
        format_name=name,
        duration_s=duration,
        size=int(fmt.get("size") or path.stat().st_size),
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=int(video["width"]) if video and "width" in video else None,
        height=int(video["height"]) if video and "height" in video else None,
    )


def demuxer_for(info: MediaInfo) -> str:
    return INPUT_FORMATS[info.format_name]


def remux_argv(src: Path, dst: Path, demuxer: str) -> list[str]:
    """Copy the streams into a seekable Matroska: writes the Duration and the Cues (seek
    index) that a browser's MediaRecorder leaves out, without re-encoding. Matroska, not
    WebM: the server's recorder writes H.264 + PCM, which the WebM muxer refuses."""
    return [*base_argv(), "-f", demuxer, "-i", str(src), "-map", "0", "-c", "copy", "-f", "matroska", str(dst)]


def transcode_argv(
    src: Path,
    dst: Path,
    demuxer: str,
    options: TranscodeOptions,
    *,
    has_audio: bool,
    text_file: Path | None = None,
    source_height: int | None = None,
) -> list[str]:
    """WebM (VP8/VP9 + Opus) → MP4 (H.264 + AAC, ``+faststart``); ``text_file`` holds the
    watermark text (written by the caller with :func:`watermark_text`)."""
    argv = [*base_argv(), "-f", demuxer, "-i", str(src)]
    filters = ["format=yuv420p"]
    if source_height and source_height > options.max_height:
        filters.insert(0, f"scale=-2:{options.max_height}:flags=bicubic")
    if text_file is not None:
        filters.append(drawtext_filter(text_file))
    video_chain = ",".join(filters)
    if options.watermark_image is not None:
        argv += ["-f", "image2", "-i", str(options.watermark_image)]
        graph = f"[0:v]{video_chain}[base];[1:v]scale=-2:48[logo];[base][logo]overlay=W-w-16:16[v]"
        argv += ["-filter_complex", graph, "-map", "[v]"]
    else:
        argv += ["-filter_complex", f"[0:v]{video_chain}[v]", "-map", "[v]"]
    if has_audio:
        argv += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{options.audio_bitrate_k}k", "-ac", "2"]
    argv += ["-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf), "-profile:v", "high"]
    if options.tune:
        argv += ["-tune", options.tune]
    if options.threads:
        argv += ["-threads", str(options.threads)]
    # Browser WebM has millisecond timestamps (ffprobe says 1000 fps): keep them as they are
    # (variable frame rate) instead of letting the MP4 muxer duplicate frames up to 1000 fps.
    argv += ["-fps_mode", "vfr", "-movflags", "+faststart", "-f", "mp4", str(dst)]
    return argv


def thumbnail_argv(src: Path, dst: Path, at_s: float) -> list[str]:
    """One JPEG frame, 320 px wide, from an MP4 we made ourselves."""
    return [
        *base_argv(),
        "-ss",
        f"{max(0.0, at_s):.3f}",
        "-f",
        "mov",
        "-i",
        str(src),
        "-frames:v",
        "1",
        "-vf",
        "scale=320:-2",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        str(dst),
    ]


def drawtext_filter(text_file: Path) -> str:
    """A drawtext filter reading its text from ``text_file`` (see :func:`watermark_text`).

    The text never enters the filter graph, so it cannot add filters or options; the
    file's path is server-generated and checked here anyway.
    """
    if not _SAFE_PATH.fullmatch(str(text_file)):
        raise ValueError(f"unsafe path for a filter graph: {text_file}")
    font = f"fontfile={FONT_FILE}:" if FONT_FILE.exists() else ""
    return (
        f"drawtext={font}textfile={text_file}:x=16:y=h-th-16:fontsize=h/30:fontcolor=white@0.85:"
        "box=1:boxcolor=black@0.45:boxborderw=6"
    )


def watermark_text(text: str) -> str:
    """The user's watermark as drawtext expands it: ``{time}`` becomes the running time
    (hh:mm:ss), every other character is literal (``\\`` and ``%`` escaped)."""
    clean = "".join(ch for ch in text if ch.isprintable())[:120]
    literal = clean.replace("\\", "\\\\").replace("%", "\\%")
    return literal.replace("{time}", "%{pts:hms}")


_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")


def base_argv() -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]


async def run(
    argv: list[str], *, timeout_s: float, duration_s: float | None = None, on_progress: Progress | None = None
) -> None:
    """Run one FFmpeg command; report progress (0..1) when the duration is known.

    On failure or time-out the process is killed and :class:`FfmpegError` raised; the
    caller owns the output path and deletes it (a failed job never leaves half a file).
    """
    log.debug("ffmpeg %s", argv)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.create_task(proc.stderr.read())

    async def pump() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and on_progress and duration_s:
                seconds = (_float(value) or 0.0) / 1e6
                on_progress(max(0.0, min(1.0, seconds / duration_s)))
        await proc.wait()

    try:
        await asyncio.wait_for(pump(), timeout_s)
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        stderr_task.cancel()
        raise FfmpegError("timeout", f"ffmpeg took longer than {timeout_s:.0f} s") from None
    except asyncio.CancelledError:
        _kill(proc)
        await proc.wait()
        stderr_task.cancel()
        raise
    err = (await stderr_task).decode(errors="replace")
    if proc.returncode != 0:
        raise FfmpegError("failed", f"ffmpeg exited with {proc.returncode}: {err.strip()[-400:]}")
    if on_progress:
        on_progress(1.0)


async def _run_capture(argv: list[str], timeout_s: float) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        raise FfmpegError("timeout", f"{argv[0]} took longer than {timeout_s:.0f} s") from None
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number == number and number >= 0 else None  # NaN / negative → unknown
