"""Generic media-handling controls with real files and the real ffmpeg: streaming size
cap, content sniffing, content-addressed storage, confined FFmpeg, signed download URLs."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse

from peercall.errors import PeercallError
from peercall.security.ffmpeg import FfmpegLimits, ffmpeg_command, run_ffmpeg
from peercall.security.signed_urls import UrlSigner
from peercall.security.uploads import receive_upload

MEDIA = frozenset({"webm", "mp4"})


def make_webm(path: Path, seconds: int = 1) -> bytes:
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"]
    command += ["-t", str(seconds), "-c:v", "libvpx", "-b:v", "200k", "-y", str(path)]
    subprocess.run(command, check=True, timeout=60)
    return path.read_bytes()


async def chunked(data: bytes, size: int, consumed: list[int]) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        consumed[0] += len(data[start : start + size])
        yield data[start : start + size]


async def test_security_upload_cap_sniff_and_confined_ffmpeg(tmp_path: Path):
    webm = make_webm(tmp_path / "source.webm")
    media = tmp_path / "media"
    # Too large: refused while streaming — at most one chunk past the cap was read, nothing kept.
    consumed = [0]
    with pytest.raises(PeercallError) as info:
        await receive_upload(
            chunked(b"\x1a\x45\xdf\xa3" + b"\0" * 10_000_000, 4096, consumed), media, max_bytes=100_000, allowed=MEDIA
        )
    assert info.value.code == "payload_too_large" and consumed[0] <= 100_000 + 4096
    assert list(media.iterdir()) == []
    # Not media (an HLS playlist pointing at a local file), whatever it is called: refused at the head.
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    consumed = [0]
    with pytest.raises(PeercallError) as info:
        await receive_upload(chunked(playlist * 1000, 4096, consumed), media, max_bytes=10**7, allowed=MEDIA)
    assert info.value.code == "unsupported_media" and consumed[0] == 4096 and list(media.iterdir()) == []
    # Real WebM: stored under its SHA-256, not under any name the client chose.
    stored = await receive_upload(chunked(webm, 4096, [0]), media, max_bytes=10**7, allowed=MEDIA)
    assert stored.kind == "webm" and stored.path.name == f"{hashlib.sha256(webm).hexdigest()}.webm"
    assert stored.path.read_bytes() == webm

    # Confined FFmpeg: transcodes the stored file ...
    out = media / f"{stored.sha256}.preview.mp4"
    await run_ffmpeg(ffmpeg_command(media, stored.path, "webm", out, ["-c:v", "libx264", "-preset", "ultrafast"]))
    assert out.stat().st_size > 1000 and out.read_bytes()[4:8] == b"ftyp"
    # ... refuses paths outside the media directory or not content-addressed ...
    for bad in (tmp_path / "source.webm", media / "../source.webm", media / "evil name.webm"):
        with pytest.raises(PeercallError):
            ffmpeg_command(media, bad, "webm", out, [])
    with pytest.raises(ValueError):
        ffmpeg_command(media, stored.path, "webm", out, ["-i", "http://169.254.169.254/"])
    # ... never lets a playlist reach the hls demuxer or a file:// reference: forced demuxer fails.
    sneaky = media / f"{hashlib.sha256(playlist).hexdigest()}.webm"
    sneaky.write_bytes(playlist)
    with pytest.raises(PeercallError) as info:
        await run_ffmpeg(ffmpeg_command(media, sneaky, "webm", media / f"{'0' * 64}.mp4", []))
    assert info.value.code == "media_failed"
    # ... and runs under time and memory limits.
    long_webm = media / f"{'1' * 64}.webm"
    # ~1 s of x264 "veryslow" on a fast machine (30 s of input took 0.48 s, too close to a 0.5 s limit).
    long_webm.write_bytes(make_webm(tmp_path / "long.webm", seconds=60))
    slow = ffmpeg_command(
        media, long_webm, "webm", media / f"{'2' * 64}.mp4", ["-c:v", "libx264", "-preset", "veryslow"]
    )
    with pytest.raises(PeercallError) as info:
        await run_ffmpeg(slow, FfmpegLimits(timeout_s=0.2))
    assert "longer than 0.2 s" in info.value.message
    with pytest.raises(PeercallError) as info:
        await run_ffmpeg(slow, FfmpegLimits(memory_bytes=20 * 1024 * 1024))
    assert info.value.code == "media_failed"


def test_security_signed_download_urls(tmp_path: Path):
    now = [1_000_000.0]
    signer = UrlSigner("s" * 40, clock=lambda: now[0])
    store = tmp_path / "files"
    store.mkdir()
    (store / f"{'a' * 64}.webm").write_bytes(b"\x1a\x45\xdf\xa3 recording")
    app = FastAPI()

    def signed(request: Request) -> None:
        signer.verify_request(request)

    @app.get("/files/{sha}.webm", dependencies=[Depends(signed)])
    async def download(sha: str, request: Request) -> FileResponse:
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            raise PeercallError("not_found", "no such file")
        return FileResponse(store / f"{sha}.webm")

    @app.exception_handler(PeercallError)
    async def errors(_: Request, exc: PeercallError):  # type: ignore[no-untyped-def]
        from fastapi.responses import JSONResponse

        return JSONResponse(exc.to_http_body(), exc.kind.http_status)

    from fastapi.testclient import TestClient

    http = TestClient(app)
    url = signer.sign(f"/files/{'a' * 64}.webm", ttl_s=60)
    assert http.get(url).content == b"\x1a\x45\xdf\xa3 recording"
    assert http.get(f"/files/{'a' * 64}.webm").json()["error"]["code"] == "unauthorized"
    other = url.replace("a" * 64, "b" * 64)  # the signature is for one path only
    assert http.get(other).status_code == 401
    tampered = url.replace("exp=", "exp=9")
    assert http.get(tampered).status_code == 401
    now[0] += 61
    expired = http.get(url)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "link_expired"
    assert signer.sign("/x", ttl_s=10**6).split("exp=")[1].split("&")[0] == str(int(now[0]) + 3600)  # clamped
