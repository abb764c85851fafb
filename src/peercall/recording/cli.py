"""``peercall recording transcode IN OUT [--watermark TEXT]``: the server's pipeline for
files made elsewhere, with a progress bar (rich)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def add_subcommand(commands: Any) -> None:
    """Register ``recording transcode`` on the top-level subparsers."""
    recording = commands.add_parser("recording", help="recording post-processing")
    sub = recording.add_subparsers(dest="recording_command", required=True)
    transcode = sub.add_parser("transcode", help="WebM (or MP4/MKV) → small MP4 (H.264 + AAC, faststart)")
    transcode.add_argument("input", type=Path, metavar="IN")
    transcode.add_argument("output", type=Path, metavar="OUT", help="the MP4 to write")
    transcode.add_argument("--watermark", metavar="TEXT", help="text drawn bottom left; {time} = running time")
    transcode.add_argument("--crf", type=int, help="x264 CRF (default: recording_crf)")
    transcode.add_argument("--preset", help="x264 preset (default: recording_preset)")
    transcode.add_argument("--thumbnail", type=Path, help="also write a JPEG thumbnail here")
    transcode.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from peercall.config import load_settings
    from peercall.recording import pipeline
    from peercall.recording.ffmpeg import FfmpegError
    from peercall.recording.service import transcode_options

    settings = load_settings()
    try:
        options = transcode_options(settings, watermark=args.watermark)
        if args.crf is not None:
            options = replace(options, crf=args.crf)
        if args.preset is not None:
            options = replace(options, preset=args.preset)
    except ValueError as exc:
        print(f"peercall: {exc}", file=sys.stderr)
        return 2
    if not args.input.is_file():
        print(f"peercall: {args.input}: no such file", file=sys.stderr)
        return 2
    if args.output.resolve() == args.input.resolve():
        print("peercall: OUT must differ from IN", file=sys.stderr)
        return 2
    columns = (TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"))
    with Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), disable=args.quiet) as bar:
        task = bar.add_task("probe", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=stage, completed=fraction)

        try:
            result = asyncio.run(
                pipeline.process(args.input, args.output, options, thumbnail=args.thumbnail, on_progress=progress)
            )
        except FfmpegError as exc:
            print(f"peercall: {exc.reason}: {exc}", file=sys.stderr)
            return 1
    ratio = result.source.size / result.size if result.size else 0.0
    print(
        f"{args.output}: {result.duration_s:.1f} s, {result.size / 1e6:.1f} MB "
        f"({ratio:.1f}× smaller), {result.duration_s / max(result.elapsed_s, 1e-3):.1f}× realtime"
    )
    return 0
