"""Helpers for recording tests and benches: browser-like WebM files, ffprobe, polling."""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect


def browser_like_webm(
    path: Path, seconds: float, *, size: str = "640x360", rate: int = 30, source: str = "testsrc2", tone_hz: int = 440
) -> Path:
    """A VP8 + Opus WebM written to a pipe, like MediaRecorder's: no duration, no cues.
    ``source`` is a lavfi video source (``testsrc2``, ``color=c=red``…)."""
    argv = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", f"{source}{':' if '=' in source else '='}s={size}:r={rate}",
        "-f", "lavfi", "-i", f"sine=f={tone_hz}:r=48000",
        "-t", str(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
        "-c:a", "libopus", "-b:a", "64k", "-f", "webm", "pipe:1",
    ]  # fmt: skip
    with path.open("wb") as sink:
        subprocess.run(argv, stdout=sink, check=True)
    return path


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def codecs(info: dict[str, Any]) -> dict[str, str]:
    return {s["codec_type"]: s["codec_name"] for s in info["streams"]}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_recording(api: httpx.Client, recording_id: str, states: set[str], timeout_s: float = 60) -> dict[str, Any]:
    """Poll ``GET /api/recordings/{id}`` until its state is one of ``states``."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = api.get(f"/api/recordings/{recording_id}").json()
        if body.get("state") in states:
            return body
        time.sleep(0.2)
    raise AssertionError(f"recording never reached {states}: {body}")


class SignalingMember:
    """A room member on a real signaling socket, kept alive by a thread (ping every 3 s)
    that also collects every frame the server sends."""

    def __init__(self, ws_url: str, token: str) -> None:
        self._ws = connect(ws_url)
        self._ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
        self.joined = json.loads(self._ws.recv(timeout=5))
        assert self.joined["type"] == "joined", self.joined
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._ping, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            for text in self._ws:
                self.frames.put(json.loads(text))

    def _ping(self) -> None:
        while not self._stop.wait(3.0):
            with contextlib.suppress(Exception):
                self._ws.send(json.dumps({"type": "ping"}))

    def next(self, kind: str, timeout_s: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            if frame["type"] == kind:
                return frame

    def close(self, *, leave: bool = False) -> None:
        """Close the socket; ``leave`` says goodbye first (a closed tab's `pagehide`),
        otherwise the server keeps the member for the resume grace period."""
        self._stop.set()
        if leave:
            with contextlib.suppress(Exception):
                self._ws.send(json.dumps({"type": "leave", "reason": "navigate"}))
        self._ws.close()
