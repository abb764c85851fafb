"""Media for the Python peer: synthetic sources, file playback, fan-out, and a frame counter.

The synthetic video stamps a frame number into every picture (a row of black/white
blocks, see :func:`read_frame_counter`) so a receiver can tell fresh frames from a
frozen picture without trusting timestamps.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

__all__ = [
    "ReceiveStats",
    "RelayedTrack",
    "SyntheticAudioTrack",
    "SyntheticVideoTrack",
    "TrackRelay",
    "count_frames",
    "media_sources",
    "open_media_file",
    "read_frame_counter",
]

MediaKind = Literal["audio", "video"]
VIDEO_CLOCK_RATE: Final = 90_000
COUNTER_BITS: Final = 24
_GUARD: Final = (1, 0)
"""Two fixed blocks before the counter, so an arbitrary picture is not misread as a number."""
_WHITE: Final = 235
_BLACK: Final = 16


def _block_size(width: int) -> int:
    """Counter block edge in pixels: 16 px, smaller for narrow pictures."""
    return max(2, min(16, width // (len(_GUARD) + COUNTER_BITS)))


class SyntheticVideoTrack(VideoStreamTrack):
    """A moving colour gradient with the frame number stamped in the top-left corner.

    The picture changes every frame so the encoder produces real inter frames and a
    frozen stream is visible; frames are built directly in yuv420p (no conversion).
    """

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        super().__init__()
        if width % 2 or height % 2 or width < 16 or height < 16:
            raise ValueError("width and height must be even and at least 16")
        if not 0 < fps <= 120:
            raise ValueError("fps must be in (0, 120]")
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        x = np.arange(width, dtype=np.float32)
        y = np.arange(height, dtype=np.float32)[:, None]
        self._luma = (48 + 160 * (0.5 + 0.5 * np.sin(2 * math.pi * (x / 160 + y / 240)))).astype(np.uint8)
        cx = np.arange(width // 2, dtype=np.float32)
        self._cb = np.tile((128 + 90 * np.sin(2 * math.pi * cx / 200)).astype(np.uint8), (height // 2, 1))
        self._cr = np.tile((128 + 90 * np.cos(2 * math.pi * cx / 130)).astype(np.uint8), (height // 2, 1))
        self._t0: float | None = None

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Pace frames at ``fps`` against the wall clock (the base class is fixed at 30)."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._t0 is None:
            self._t0 = time.monotonic()
        else:
            await asyncio.sleep(self._t0 + self.frames_sent / self.fps - time.monotonic())
        return round(self.frames_sent * VIDEO_CLOCK_RATE / self.fps), fractions.Fraction(1, VIDEO_CLOCK_RATE)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        shift = (self.frames_sent * 4) % self.width
        planes = np.concatenate(
            [
                np.roll(self._luma, shift, axis=1),
                np.roll(self._cb, shift // 2, axis=1).reshape(-1, self.width),
                np.roll(self._cr, -shift // 2, axis=1).reshape(-1, self.width),
            ]
        )
        self._stamp(planes, self.frames_sent)
        frame = VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        self.frames_sent += 1
        return frame

    def _stamp(self, planes: np.ndarray[Any, Any], number: int) -> None:
        size = _block_size(self.width)
        bits = [*_GUARD, *((number >> i) & 1 for i in reversed(range(COUNTER_BITS)))]
        for i, bit in enumerate(bits):
            planes[0:size, i * size : (i + 1) * size] = _WHITE if bit else _BLACK


def read_frame_counter(frame: VideoFrame) -> int | None:
    """Decode the number stamped by :class:`SyntheticVideoTrack`, or None if there is none."""
    gray = frame.to_ndarray(format="gray")
    size = _block_size(frame.width)
    if gray.shape[0] < size:
        return None
    row = gray[size // 2]
    margin = max(1, size // 4)
    bits = [
        int(row[i * size + margin : (i + 1) * size - margin].mean() > 128) for i in range(len(_GUARD) + COUNTER_BITS)
    ]
    if tuple(bits[: len(_GUARD)]) != _GUARD:
        return None
    return int("".join(map(str, bits[len(_GUARD) :])), 2)


class SyntheticAudioTrack(AudioStreamTrack):
    """A continuous sine tone in s16 mono frames (48 kHz, 20 ms by default)."""

    def __init__(
        self, frequency: float = 440.0, sample_rate: int = 48_000, ptime: float = 0.020, amplitude: float = 0.3
    ) -> None:
        super().__init__()
        self.frequency, self.sample_rate, self.amplitude = frequency, sample_rate, amplitude
        self.samples = int(sample_rate * ptime)
        self.frames_sent = 0
        self._t0: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = self.frames_sent * self.samples
        if self._t0 is None:
            self._t0 = time.monotonic()
        else:
            await asyncio.sleep(self._t0 + pts / self.sample_rate - time.monotonic())
        t = (pts + np.arange(self.samples)) / self.sample_rate
        pcm = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts, frame.time_base = pts, fractions.Fraction(1, self.sample_rate)
        self.frames_sent += 1
        return frame


def media_sources(
    *, audio: bool | MediaStreamTrack | None, video: bool | MediaStreamTrack | None
) -> tuple[dict[MediaKind, MediaStreamTrack], list[MediaStreamTrack]]:
    """The tracks to send, by kind (True: a synthetic one), and those we created (to stop)."""
    sources: dict[MediaKind, MediaStreamTrack] = {}
    owned: list[MediaStreamTrack] = []
    kinds: tuple[tuple[MediaKind, bool | MediaStreamTrack | None], ...] = (("audio", audio), ("video", video))
    for kind, source in kinds:
        if isinstance(source, MediaStreamTrack):
            if source.kind != kind:
                raise ValueError(f"{kind}= got a {source.kind} track")
            sources[kind] = source
        elif source:
            sources[kind] = SyntheticAudioTrack() if kind == "audio" else SyntheticVideoTrack()
            owned.append(sources[kind])
    return sources, owned


def open_media_file(path: str, *, loop: bool = True, format: str | None = None) -> MediaPlayer:
    """Play a media file (or an FFmpeg device with ``format``) as a source.

    Pass ``player.video`` / ``player.audio`` to :meth:`Peer.join`; keep the player
    referenced for the whole call, it owns the decoding thread.
    """
    return MediaPlayer(path, format=format, loop=loop)


class TrackRelay:
    """Fans each source track out to any number of readers, each getting every frame.

    Like aiortc's MediaRelay, but a reader's queue is bounded (the oldest frame is
    dropped, so a slow encoder or recorder lags by ``maxsize`` frames, never by memory),
    and :meth:`aclose` stops and awaits every pump, so nothing outlives the call.
    A reader joins the fan-out on its first ``recv()``: an unread one costs nothing.
    """

    def __init__(self) -> None:
        self._readers: dict[MediaStreamTrack, set[RelayedTrack]] = {}
        self._pumps: dict[MediaStreamTrack, asyncio.Task[None]] = {}

    def subscribe(self, source: MediaStreamTrack, *, maxsize: int = 64) -> RelayedTrack:
        return RelayedTrack(self, source, maxsize)

    async def aclose(self) -> None:
        pumps = list(self._pumps.values())
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)

    def _start(self, reader: RelayedTrack) -> None:
        self._readers.setdefault(reader.source, set()).add(reader)
        if reader.source not in self._pumps:
            self._pumps[reader.source] = asyncio.create_task(self._pump(reader.source))

    def _stop(self, reader: RelayedTrack) -> None:
        self._readers.get(reader.source, set()).discard(reader)

    async def _pump(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    frame = await source.recv()
                except MediaStreamError:
                    return
                for reader in list(self._readers.get(source, ())):
                    reader.put(frame)
        finally:
            del self._pumps[source]
            for reader in self._readers.pop(source, set()):
                reader.put(None)


class RelayedTrack(MediaStreamTrack):
    """One reader of a :class:`TrackRelay` source."""

    def __init__(self, relay: TrackRelay, source: MediaStreamTrack, maxsize: int) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self._relay = relay
        self._queue: asyncio.Queue[Frame | Packet[Any] | None] = asyncio.Queue(max(1, maxsize))
        self._joined = False

    async def recv(self) -> Frame | Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._joined:
            self._joined = True
            self._relay._start(self)
        frame = await self._queue.get()
        if frame is None:  # the source ended
            self.stop()
            raise MediaStreamError
        return frame

    def put(self, frame: Frame | Packet[Any] | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    def stop(self) -> None:
        super().stop()
        self._relay._stop(self)


@dataclass
class ReceiveStats:
    """What arrived from one remote peer; replaced media (a new connection) keeps counting."""

    video_frames: int = 0
    audio_frames: int = 0
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    first_video_at: float | None = None
    first_audio_at: float | None = None
    """``time.monotonic()`` of the first decoded frame of each kind."""
    last_video_frame: VideoFrame | None = field(default=None, repr=False)
    """Kept for inspection, e.g. :func:`read_frame_counter`."""


async def count_frames(
    track: MediaStreamTrack, stats: ReceiveStats, on_frame: Callable[[], None] | None = None
) -> None:
    """Read ``track`` until it ends, counting frames into ``stats``.

    Reading matters as well as counting: an unread remote track is never decoded.
    """
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        now = time.monotonic()
        if isinstance(frame, VideoFrame):
            stats.video_frames += 1
            stats.width, stats.height, stats.last_video_frame = frame.width, frame.height, frame
            stats.first_video_at = stats.first_video_at or now
        elif isinstance(frame, AudioFrame):
            stats.audio_frames += 1
            stats.sample_rate = frame.sample_rate
            stats.first_audio_at = stats.first_audio_at or now
        if on_frame is not None:
            on_frame()
