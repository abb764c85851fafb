"""Server-side recording: the server's recorder peer joins a room recorded by the server,
receives both participants' media and the pipeline makes one MP4 of both (pixels checked)."""

from __future__ import annotations

import asyncio
import fractions
import subprocess
import time
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from aiortc import VideoStreamTrack

from peercall.peer import JoinRejected, Peer, SyntheticAudioTrack
from peercall.testing import ServerProcess
from peercall.testing.recording import codecs, ffprobe, wait_recording


class SolidVideo(VideoStreamTrack):
    """A camera that films one colour (so each side is recognisable in the composition)."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        image = np.zeros((480, 640, 3), np.uint8)
        image[:] = rgb
        # yuv420p already: two encoders (two connections) share each frame and must not convert it
        self._yuv = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        return frame


def rgb_at(path: Path, at_s: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(360, 1280, 3).astype(int)


def recordings_of(server: ServerProcess, room: str) -> list[dict]:
    with server.api() as api:
        return list(api.get("/api/recordings", params={"room_id": room}).json()["recordings"])


async def wait_for(probe, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not (result := await asyncio.to_thread(probe)):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)
    return result


async def test_recording_server_side_recorder_peer_makes_mp4_of_both(server: ServerProcess, tmp_path: Path):
    room = server.create_room(settings={"recording": "server"})  # a 1:1 room (max_participants 2)
    red = await Peer.join(
        server.base_url, server.token(room, "red")["token"], video=SolidVideo((220, 30, 30)),
        audio=SyntheticAudioTrack(440),
    )  # fmt: skip
    blue = None
    try:
        blue = await Peer.join(
            server.base_url, server.token(room, "blue")["token"], video=SolidVideo((30, 30, 220)),
            audio=SyntheticAudioTrack(880),
        )  # fmt: skip
        # The recorder is an announced member with its own role; it takes no participant's place.
        roles = await wait_for(
            lambda: sorted(p.role for p in blue.peers.values()) if len(blue.peers) == 2 else None, 15
        )
        assert roles == ["participant", "recorder"]
        [rec] = recordings_of(server, room)
        assert (rec["mode"], rec["state"], rec["started_by"]) == ("server", "recording", "server")
        with pytest.raises(JoinRejected) as refused:
            await Peer.join(server.base_url, server.token(room, "third")["token"], video=False, audio=False)
        assert refused.value.code == "room_full"
        with pytest.raises(JoinRejected) as reserved:  # nobody else may pose as the recorder
            await Peer.join(server.base_url, server.token(room, "peercall:recorder")["token"], audio=False)
        assert reserved.value.code == "forbidden"
        await red.wait_frames(video=30, audio=25, timeout=20, peer_id=blue.peer_id)
        call_started = time.monotonic()
        await asyncio.sleep(4.0)
    finally:
        for peer in (blue, red):
            if peer is not None:
                await peer.leave()
    call_s = time.monotonic() - call_started
    with server.api() as api:
        body = await asyncio.to_thread(wait_recording, api, rec["id"], {"ready", "failed"}, 90)
        assert body["state"] == "ready", body
        mp4 = tmp_path / "server.mp4"
        mp4.write_bytes(api.get(f"/api/recordings/{rec['id']}/download").content)
        [call] = api.get(f"/api/rooms/{room}/calls").json()["calls"]
    assert call["end_reason"] == "completed"  # the recorder left with the last participant
    info = ffprobe(mp4)
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    duration = float(info["format"]["duration"])
    assert call_s <= duration <= call_s + 15, (duration, call_s)  # + connecting time before the frames
    frame = rgb_at(mp4, duration - 2.0)
    halves = [frame[60:300, 80:560], frame[60:300, 720:1200]]
    colours = sorted(_colour(h) for h in halves)
    assert colours == ["blue", "red"], [h.mean(axis=(0, 1)) for h in halves]
    tones = _dominant_tones(mp4)
    assert {440, 880} <= tones, tones  # both voices mixed


def _colour(area: np.ndarray) -> str:
    red, blue = area[..., 0].mean(), area[..., 2].mean()
    return "red" if red > 150 > blue else "blue" if blue > 150 > red else "?"


def _dominant_tones(path: Path) -> set[int]:
    """Frequencies (rounded to 10 Hz) carrying most of the energy of the mixed audio."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", "8000", "-f", "s16le", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(raw, np.int16).astype(float)
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    peaks = freqs[np.argsort(spectrum)[-20:]]
    return {int(round(f / 10) * 10) for f in peaks}


async def test_recording_server_side_stopped_over_rest(server: ServerProcess, tmp_path: Path):
    """A participant stops the server's recording: the recorder leaves, the call goes on,
    and no second recording starts during this call. Blue has no microphone. Browsers may
    not record such a room themselves."""
    room = server.create_room(settings={"recording": "server"})
    tokens = {name: server.token(room, name)["token"] for name in ("red", "blue")}
    red = await Peer.join(server.base_url, tokens["red"], video=SolidVideo((220, 30, 30)), audio=SyntheticAudioTrack())
    blue = None
    try:
        blue = await Peer.join(server.base_url, tokens["blue"], video=SolidVideo((30, 30, 220)), audio=False)
        await wait_for(lambda: any(p.role == "recorder" for p in blue.peers.values()), 15)
        await red.wait_frames(video=30, timeout=20, peer_id=blue.peer_id)
        await asyncio.sleep(2.0)
        [rec] = recordings_of(server, room)
        browser_start = httpx.post(
            f"{server.base_url}/api/recordings", json={"mode": "composite"},
            headers={"Authorization": f"Bearer {tokens['red']}"}, timeout=10,
        )  # fmt: skip
        assert browser_start.status_code == 403  # the server records this room; browsers may not
        stop = httpx.post(
            f"{server.base_url}/api/recordings/{rec['id']}/stop",
            headers={"Authorization": f"Bearer {tokens['blue']}"}, timeout=10,
        )  # fmt: skip
        assert stop.status_code == 200, stop.text
        await wait_for(lambda: all(p.role != "recorder" for p in blue.peers.values()), 15)
        with server.api() as api:
            body = await asyncio.to_thread(wait_recording, api, rec["id"], {"ready", "failed"}, 90)
        assert body["state"] == "ready", body
        assert red.connection_state(blue.peer_id) == "connected"  # the call itself goes on
        assert [r["id"] for r in recordings_of(server, room)] == [rec["id"]]  # not restarted
        with server.api() as api:
            mp4 = tmp_path / "stopped.mp4"
            mp4.write_bytes(api.get(f"/api/recordings/{rec['id']}/download").content)
        assert codecs(ffprobe(mp4)) == {"video": "h264", "audio": "aac"}
    finally:
        for peer in (blue, red):
            if peer is not None:
                await peer.leave()
