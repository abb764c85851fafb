"""Recording post-processing: browser-like WebM → our pipeline → MP4.

The source imitates what Chrome's MediaRecorder makes of a call: 1280×720 VP8 at
~2.5 Mbit/s (realtime encoder) + Opus 128 kbit/s, written to a pipe so it has no
duration and no seek index. Its content is realistic, not a test pattern: a real
photograph of a person (scikit-image's ``astronaut``) cut out with a soft mask, moving
like a head in a video call (slow sway, nods, a little roll) in front of a blurred
background, with temporal camera noise, and speech from espeak-ng. The first 30 s are
made and VP8-encoded once, then repeated (stream copy) to the full length: encoding ten
minutes of noisy 720p VP8 takes far longer than the pipeline under test.

The pipeline (``peercall.recording.pipeline.process``, the same code the server's jobs
run, with the server's default settings, optionally a text watermark) turns it into an MP4.
Figures: size ratio WebM/MP4, speed in × realtime (media seconds per wall second,
remux + transcode + verification + thumbnail), SSIM of the MP4 against the source WebM.

    python bench/transcode.py [--minutes M] [--quick] [--json]

Needs scikit-image (``pip install -e '.[bench]'``) and espeak-ng (apt); ``make bench-transcode``.
The generated source is cached in ``bench/.cache/`` (it takes minutes to make).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.config import Settings  # noqa: E402
from peercall.recording import pipeline  # noqa: E402
from peercall.recording.service import transcode_options  # noqa: E402

CACHE = HERE / ".cache"
SPEECH = (
    "Good morning, thanks for joining the call. Let me share what we found this week. "
    "The new build is faster on older phones, and the crash on start-up is gone. "
    "We still see some echo when people use the laptop speakers, so the next step is to test "
    "the noise suppression settings with a few customers. Does that sound reasonable to you? "
    "Great. I will send the notes after the call, and we can meet again on Thursday."
)


def make_scene(work: Path) -> tuple[Path, Path]:
    """Background (blurred photo) and a soft-masked cut-out of the person, as PNGs."""
    from skimage import data, filters, transform
    from skimage.io import imsave

    photo = data.astronaut().astype(np.float64) / 255.0  # 512×512 RGB
    background = transform.resize(photo[:, :, :], (720, 1280), anti_aliasing=True)
    background = filters.gaussian(background, sigma=12, channel_axis=-1) * 0.8
    person = transform.resize(photo[20:500, 60:460], (600, 500), anti_aliasing=True)
    yy, xx = np.mgrid[0:600, 0:500]
    ellipse = ((xx - 250) / 240) ** 2 + ((yy - 330) / 320) ** 2
    alpha = np.clip((1.0 - ellipse) * 6.0, 0.0, 1.0)
    rgba = np.dstack([person, alpha])
    bg_path, person_path = work / "background.png", work / "person.png"
    imsave(bg_path, (background * 255).astype(np.uint8), check_contrast=False)
    imsave(person_path, (rgba * 255).astype(np.uint8), check_contrast=False)
    return bg_path, person_path


def make_speech(work: Path) -> Path:
    wav = work / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), SPEECH], check=True)
    return wav


LOOP_S = 30  # the call is made (and VP8-encoded) once for 30 s and repeated to the full length


def make_source(seconds: int) -> Path:
    """The browser-like WebM (cached by duration)."""
    CACHE.mkdir(exist_ok=True)
    out = CACHE / f"call-{seconds}s.webm"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bg, person = make_scene(work)
        speech = make_speech(work)
        # Head-like motion: a slow sway, nods and a little roll (periods fit the loop).
        x = "390+14*sin(2*PI*t/5)+5*sin(2*PI*t/1.5)"
        y = "90+6*sin(2*PI*t/3)+3*sin(2*PI*t/1)"
        angle = "0.035*sin(2*PI*t/5)+0.01*sin(2*PI*t/1.25)"
        graph = (
            f"[1:v]format=rgba,rotate=a='{angle}':c=none:ow=rotw(0.06):oh=roth(0.06)[p];"
            f"[0:v][p]overlay=x='{x}':y='{y}':shortest=1,"
            "noise=c0s=7:c1s=4:c2s=4:allf=t,format=yuv420p[v]"
        )
        loop = work / "loop.mkv"
        scene = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-loop", "1", "-framerate", "30", "-i", str(bg),
            "-loop", "1", "-framerate", "30", "-i", str(person),
            "-filter_complex", graph, "-map", "[v]", "-t", str(min(seconds, LOOP_S)),
            "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(loop),
        ]  # fmt: skip
        subprocess.run(scene, check=True)
        # One loop of browser-like VP8 + Opus, as Chrome's MediaRecorder makes it (libvpx VP8
        # realtime at the requested bitrate, Opus 48 kHz)...
        piece = work / "piece.webm"
        encode = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-i", str(loop), "-stream_loop", "-1", "-i", str(speech),
            "-map", "0:v", "-map", "1:a", "-t", str(min(seconds, LOOP_S)),
            "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2500k",
            "-minrate", "2000k", "-maxrate", "3000k", "-g", "3000", "-threads", "2",
            "-c:a", "libopus", "-b:a", "128k", "-ar", "48000", "-ac", "2", str(piece),
        ]  # fmt: skip
        subprocess.run(encode, check=True)
        # ...repeated without re-encoding to the full length, written to a pipe (no duration, no cues).
        repeat = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-stream_loop", "-1", "-i", str(piece), "-t", str(seconds), "-c", "copy", "-f", "webm", "pipe:1",
        ]  # fmt: skip
        part = out.with_suffix(".part")
        with part.open("wb") as sink:
            subprocess.run(repeat, stdout=sink, check=True)
        part.rename(out)
    return out


def ssim(distorted: Path, reference: Path) -> float:
    """Mean SSIM (all planes) of ``distorted`` against ``reference`` over every frame."""
    graph = "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]ssim"
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(distorted), "-i", str(reference)]
    argv += ["-lavfi", graph, "-f", "null", "-"]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    match = re.search(r"SSIM .* All:([0-9.]+)", result.stderr)
    if not match:
        raise RuntimeError(f"no SSIM in ffmpeg output: {result.stderr[-500:]}")
    return float(match.group(1))


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run(seconds: int, watermark: str | None) -> dict[str, object]:
    t0 = time.monotonic()
    source = make_source(seconds)
    generated_s = time.monotonic() - t0
    options = transcode_options(Settings(), watermark=watermark)
    with tempfile.TemporaryDirectory() as tmp:
        mp4 = Path(tmp) / "call.mp4"
        cpu0 = _child_cpu_s()
        result = await pipeline.process(source, mp4, options, thumbnail=Path(tmp) / "thumb.jpg")
        cpu_s = _child_cpu_s() - cpu0
        score = ssim(mp4, source)
        duration = result.duration_s
        return {
            "media_s": round(duration, 2),
            "source_bytes": source.stat().st_size,
            "source_mbit_s": round(source.stat().st_size * 8 / duration / 1e6, 2),
            "mp4_bytes": result.size,
            "mp4_kbit_s": round(result.size * 8 / duration / 1e3, 1),
            "crf": options.crf,
            "preset": options.preset,
            "watermark": watermark,
            "processing_s": round(result.elapsed_s, 2),
            "processing_cpu_s": round(cpu_s, 2),
            # What 2 otherwise idle cores would do (this machine is shared: wall time varies).
            "realtime_factor_cpu_2_cores": round(duration / (cpu_s / 2), 2),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "source_generation_s": round(generated_s, 1),
            "size_ratio": round(source.stat().st_size / result.size, 2),
            "realtime_factor": round(duration / result.elapsed_s, 2),
            "ssim": round(score, 4),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the source call")
    parser.add_argument("--quick", action="store_true", help="1 minute")
    parser.add_argument("--watermark", help="text watermark, e.g. 'room {time}' (server default: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    seconds = 60 if args.quick else round(args.minutes * 60)
    figures = asyncio.run(run(seconds, args.watermark))
    if not args.json:
        for key, value in figures.items():
            print(f"{key:>22}: {value}")
        print("goals: size_ratio >= 10 at ssim >= 0.95, realtime_factor >= 3 on 2 cores")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
