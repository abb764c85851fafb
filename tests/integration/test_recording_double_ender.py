"""Double-ender recording: two tracks recorded on each side, aligned by their clock
offsets and composed side by side by the server (real FFmpeg, pixels checked)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import numpy as np

from peercall.testing import ServerProcess
from peercall.testing.recording import SignalingMember, browser_like_webm, codecs, ffprobe, sha256, wait_recording


def rgb_at(path: Path, at_s: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(360, 1280, 3).astype(int)


def upload_track(upload: dict, data: bytes, started_at: float) -> dict:
    auth = {"Authorization": f"Bearer {upload['upload_key']}"}
    with httpx.Client(timeout=20) as client:
        pieces = [data[i : i + 200_000] for i in range(0, len(data), 200_000)]
        for seq, piece in enumerate(pieces):
            response = client.put(
                f"{upload['upload_url']}/{seq}", content=piece, headers={**auth, "X-Chunk-Sha256": sha256(piece)}
            )
            assert response.status_code == 200, response.text
        done = client.post(
            f"{upload['upload_url']}/finalize",
            json={"chunks": len(pieces), "started_at": started_at, "clock_offset_ms": -12.5, "rtt_ms": 3.0},
            headers=auth,
        )
        assert done.status_code == 200, done.text
        return dict(done.json())


def test_recording_double_ender_aligns_and_composes_both_sides(server: ServerProcess, tmp_path: Path):
    red = browser_like_webm(tmp_path / "alice.webm", 5, source="color=c=red", tone_hz=440).read_bytes()
    blue = browser_like_webm(tmp_path / "bob.webm", 5, source="color=c=blue", tone_hz=880).read_bytes()
    room = server.create_room(settings={"recording": "any"})
    alice_token, bob_token = server.token(room, "alice")["token"], server.token(room, "bob")["token"]
    alice, bob = SignalingMember(server.ws_url, alice_token), SignalingMember(server.ws_url, bob_token)
    try:
        post = lambda path, token: httpx.post(  # noqa: E731
            f"{server.base_url}{path}", json={"mode": "double-ender"} if path == "/api/recordings" else {},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        first = post("/api/recordings", alice_token).json()
        rid = first["recording_id"]
        for member in (alice, bob):
            assert member.next("recording-state")["recording"]["mode"] == "double-ender"
        second = post(f"/api/recordings/{rid}/tracks", bob_token).json()
        assert post(f"/api/recordings/{rid}/tracks", bob_token).json()["error"]["code"] == "recording_closed"
        t0 = time.time() * 1000
        upload_track(first, red, started_at=t0)
        still = upload_track(second, blue, started_at=t0 + 2000)  # bob's side started 2 s later
        assert still["state"] == "recording"  # a double-ender ends on `stop`, not on one finalize
        stopped = post(f"/api/recordings/{rid}/stop", alice_token).json()
        assert stopped["state"] == "processing"
        states = [bob.next("recording-state")["recording"]["state"] for _ in range(2)]
        assert states == ["stopping", "stopped"]
    finally:
        alice.close()
        bob.close()
    with server.api() as api:
        body = wait_recording(api, rid, {"ready", "failed"}, 120)
        assert body["state"] == "ready", body
        mp4 = tmp_path / "both.mp4"
        mp4.write_bytes(api.get(f"/api/recordings/{rid}/download").content)
    info = ffprobe(mp4)
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    assert abs(float(info["format"]["duration"]) - 7.0) <= 0.6  # 2 s offset + 5 s
    early, later = rgb_at(mp4, 1.0), rgb_at(mp4, 3.5)
    left, right = (slice(100, 260), slice(100, 540)), (slice(100, 260), slice(740, 1180))
    assert early[left][..., 0].mean() > 180 and early[left][..., 2].mean() < 60  # alice: red from the start
    assert early[right].mean() < 30  # bob had not started yet: black
    assert later[right][..., 2].mean() > 180 and later[right][..., 0].mean() < 60  # then bob: blue
