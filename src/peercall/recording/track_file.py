"""One remote member's received media written to disk by the server's recorder peer.

aiortc hands us *decoded* frames, so the cheapest durable file is Matroska with H.264
``ultrafast`` video and raw PCM audio: Matroska stays readable when the process dies
mid-call (no index to write at the end, unlike MP4) and ultrafast x264 costs a few
percent of a core for a 640×480 camera (a WebM/VP8 encoder could not keep up on two
cores). The recording pipeline then transcodes it like any uploaded track.

Encoding runs in a thread per file, fed by a bounded queue: the server's event loop
only timestamps and enqueues frames; when the encoder falls behind, video frames are
dropped (counted), never the loop. Timestamps are the arrival times on the server's
clock, so both participants' files line up by their ``started_at`` alone; audio is
kept continuous (silence fills gaps longer than 200 ms, e.g. a reconnection).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)

_RATE = 48_000
_MS = Fraction(1, 1000)
_GAP_SAMPLES = _RATE // 5  # audio late by more than 200 ms of wall time: fill with silence
_QUEUE_FRAMES = 240  # ~3 s of audio + video; beyond that the encoder cannot keep up
_WAIT_VIDEO_S = 3.0  # how long audio waits for the first picture (it fixes the picture size)
_NO_VIDEO_SIZE = (640, 480)  # no camera by then: black 4:3 pictures (a later camera is scaled)


@dataclass
class TrackFileStats:
    video_frames: int = 0
    audio_frames: int = 0
    dropped_frames: int = 0
    silence_s: float = 0.0  # gaps filled (the sender paused, a reconnection, no microphone)


class TrackFile:
    """Matroska (H.264 + PCM) of one member; :meth:`put` from the event loop, :meth:`close` at the end."""

    def __init__(self, path: Path, *, crf: int = 23) -> None:
        self.path = path
        self.stats = TrackFileStats()
        self.started_at_ms = time.time() * 1000  # server clock: the composer aligns files by it
        self._t0 = time.monotonic()
        self._crf = crf
        self._queue: queue.Queue[tuple[str, Any, float] | None] = queue.Queue(_QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name=f"recorder-{path.stem}", daemon=True)
        self._error: BaseException | None = None
        self._thread.start()

    def put(self, kind: str, frame: Any) -> None:
        """Queue a received frame (never blocks): a full queue drops it and counts the drop."""
        try:
            self._queue.put_nowait((kind, frame, time.monotonic() - self._t0))
        except queue.Full:
            self.stats.dropped_frames += 1

    def close(self) -> TrackFileStats:
        """Flush the encoders and close the file (blocking: call it in a thread)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.stats

    # -- the encoding thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            with av.open(str(self.path), "w", format="matroska") as container:
                self._write(container)
        except BaseException as exc:  # reported by close()
            log.exception("recorder: writing %s failed", self.path.name)
            self._error = exc
            while self._queue.get() is not None:  # let put() and close() go on
                pass

    def _write(self, container: Any) -> None:
        # Every stream must exist before the first packet is written, and the picture size
        # is known only from the first video frame: audio waits for it (up to a few seconds).
        pending: list[tuple[str, Any, float]] = []
        while (item := self._queue.get()) is not None:
            pending.append(item)
            if item[0] == "video" or item[2] > _WAIT_VIDEO_S:
                break
        first_video = next((frame for kind, frame, _ in pending if kind == "video"), None)
        size = (first_video.width, first_video.height) if first_video is not None else _NO_VIDEO_SIZE
        video = self._video_stream(container, *size)
        audio = container.add_stream("pcm_s16le", rate=_RATE, layout="stereo")
        writer = _Writer(container, video, audio, self.stats)
        for kind, frame, at_s in pending:
            writer.write(kind, frame, at_s)
        if item is not None:
            while (item := self._queue.get()) is not None:
                writer.write(*item)
        writer.flush()

    def _video_stream(self, container: Any, width: int, height: int) -> Any:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": str(self._crf)}
        return stream


class _Writer:
    """Timestamps and encodes frames into the open container (the encoding thread only)."""

    def __init__(self, container: Any, video: Any, audio: Any, stats: TrackFileStats) -> None:
        self.container, self.video, self.audio, self.stats = container, video, audio, stats
        self.resampler = av.AudioResampler(format="s16", layout="stereo", rate=_RATE)
        self.samples = 0  # audio written so far (its pts, 1/48000)
        self.last_pts = -1  # video pts written so far (ms)

    def write(self, kind: str, frame: Any, at_s: float) -> None:
        if kind == "audio":
            behind = int(at_s * _RATE) - self.samples
            if behind > _GAP_SAMPLES:
                self._silence(behind)
            for out in self.resampler.resample(frame):
                out.pts, out.time_base = self.samples, Fraction(1, _RATE)
                self.samples += out.samples
                self.container.mux(self.audio.encode(out))
            self.stats.audio_frames += 1
            return
        image = frame.reformat(width=self.video.width, height=self.video.height, format="yuv420p")
        # The first picture is shown from t0 (the file's start), later ones when they arrived.
        pts = 0 if self.last_pts < 0 else max(self.last_pts + 1, int(at_s * 1000))
        image.pts, image.time_base, self.last_pts = pts, _MS, pts
        self.container.mux(self.video.encode(image))
        self.stats.video_frames += 1

    def flush(self) -> None:
        behind = self.last_pts * _RATE // 1000 - self.samples
        if behind > _GAP_SAMPLES:  # no microphone (or it stopped): silence to the last picture
            self._silence(behind)
        if self.last_pts < 0:  # no camera at all: one black picture, so the track still composes
            black = av.VideoFrame(self.video.width, self.video.height, "yuv420p")
            for plane, value in zip(black.planes, (16, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            black.pts, black.time_base = 0, _MS
            self.container.mux(self.video.encode(black))
        self.container.mux(self.video.encode(None))
        self.container.mux(self.audio.encode(None))

    def _silence(self, count: int) -> None:
        self.stats.silence_s += count / _RATE
        while count > 0:
            n = min(count, _RATE)
            frame = av.AudioFrame(format="s16", layout="stereo", samples=n)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate, frame.pts, frame.time_base = _RATE, self.samples, Fraction(1, _RATE)
            self.container.mux(self.audio.encode(frame))
            self.samples, count = self.samples + n, count - n
