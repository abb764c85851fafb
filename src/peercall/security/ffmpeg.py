"""Running FFmpeg on untrusted media, confined.

FFmpeg parses hostile files for a living, and its demuxers can follow references (an HLS
playlist or a concat list pointing at ``file:///etc/passwd`` or an internal URL). So:

- the demuxer is forced (``-f``) from a whitelist keyed by the *sniffed* kind, never probed;
- ``-protocol_whitelist file`` for every input, so nothing nested reaches the network;
- input and output must be server-generated, content-addressed names inside one directory
  (``<sha256>.<ext>`` or ``<sha256>.<label>.<ext>``): no path built from user input;
- the process gets an address-space cap, a CPU-time cap, an output-size cap and a
  wall-clock timeout, with no stdin and argv only (no shell).

Recording and snapshot pipelines build their FFmpeg work with :func:`ffmpeg_command` and
run it with :func:`run_ffmpeg`.
"""

from __future__ import annotations

import asyncio
import re
import resource
from dataclasses import dataclass
from pathlib import Path

from peercall.errors import PeercallError

# sniffed kind -> FFmpeg demuxer name (`ffmpeg -demuxers`)
DEMUXERS: dict[str, str] = {"webm": "matroska", "mp4": "mov", "ogg": "ogg", "png": "png_pipe", "jpeg": "jpeg_pipe"}
PROTOCOLS = "file"
_RESERVED = frozenset({"-f", "-i", "-protocol_whitelist", "-safe", "-y", "-n"})
_NAME = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9_-]{1,32})?\.[a-z0-9]{2,5}$")


@dataclass(frozen=True)
class FfmpegLimits:
    timeout_s: float = 120.0
    cpu_s: int = 300
    memory_bytes: int = 1024 * 1024 * 1024
    output_bytes: int = 2 * 1024 * 1024 * 1024


def _confined(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    if resolved.parent != root.resolve() or not _NAME.match(resolved.name):
        raise PeercallError("bad_request", "media paths must be content-addressed files of the media directory")
    return resolved


def ffmpeg_command(root: Path, source: Path, kind: str, output: Path, args: list[str]) -> list[str]:
    """argv for one confined FFmpeg run from ``source`` (of sniffed ``kind``) to ``output``."""
    if kind not in DEMUXERS:
        raise PeercallError("unsupported_media", f"no demuxer whitelisted for {kind!r}")
    src, dst = _confined(source, root), _confined(output, root)
    if any(arg in _RESERVED or "://" in arg or arg.startswith(("file:", "/")) for arg in args):
        raise ValueError("options may not change the demuxer, protocols or name URLs")
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-protocol_whitelist", PROTOCOLS, "-f", DEMUXERS[kind], "-i", f"file:{src}",
        *args, "-y", f"file:{dst}",
    ]  # fmt: skip


async def run_ffmpeg(command: list[str], limits: FfmpegLimits = FfmpegLimits()) -> str:
    """Run it under the limits; return stderr. Raise ``media_failed`` on failure or timeout."""

    def confine() -> None:  # runs in the child before exec
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=confine,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), limits.timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PeercallError("media_failed", f"FFmpeg took longer than {limits.timeout_s:g} s") from None
    text = stderr.decode(errors="replace")[-4000:]
    if process.returncode != 0:
        raise PeercallError("media_failed", f"FFmpeg failed ({process.returncode}): {text.strip()[-300:]}")
    return text
