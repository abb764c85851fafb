"""Recording uploads and jobs against a real `peercall serve` process and real FFmpeg.

A participant's signaling socket is open (recording needs a live member); chunks are
cut from a real MediaRecorder-like WebM; results are checked with ffprobe and hashes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peercall.security.signed_urls import UrlSigner
from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.recording import SignalingMember, browser_like_webm, codecs, ffprobe, sha256, wait_recording

CHUNK = 64 * 1024
SECRET = "recording-test-secret-0123456789abcdef"


@pytest.fixture
def rec_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(
        tmp_path,
        extra_env={"PEERCALL_TOKEN_SECRET": SECRET, "PEERCALL_RECORDING_MAX_CHUNK_BYTES": str(CHUNK)},
    )
    yield proc
    stop_server(proc)


def joined(server: ServerProcess, token: str) -> SignalingMember:
    return SignalingMember(server.ws_url, token)


def put(client: httpx.Client, upload: dict, seq: int, data: bytes, digest: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {upload['upload_key']}", "X-Chunk-Sha256": digest or sha256(data)}
    return client.put(f"{upload['upload_url']}/{seq}", content=data, headers=headers)


def start(server: ServerProcess, token: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/recordings", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def finalize(client: httpx.Client, upload: dict, chunks: int) -> httpx.Response:
    headers = {"Authorization": f"Bearer {upload['upload_key']}"}
    return client.post(f"{upload['upload_url']}/finalize", json={"chunks": chunks}, headers=headers)


def test_recording_upload_interrupted_resumes_in_order_without_duplicates(rec_server: ServerProcess, tmp_path):
    room = rec_server.create_room(settings={"recording": "any"})
    token = rec_server.token(room, "alice")["token"]
    ws_a = joined(rec_server, token)
    ws_b = joined(rec_server, rec_server.token(room, "bob")["token"])
    source = browser_like_webm(tmp_path / "call.webm", 6).read_bytes()
    pieces = [source[i : i + CHUNK] for i in range(0, len(source), CHUNK)]
    assert len(pieces) >= 6

    response = start(rec_server, token, mode="local")
    assert response.status_code == 201, response.text
    upload = response.json()
    # Both sides are told that a recording runs (the indicator).
    for ws in (ws_a, ws_b):
        state = ws.next("recording-state")
        assert state["recording"] == {**state["recording"], "id": upload["recording_id"], "state": "recording"}

    # A late joiner asks which recordings run (its indicator must show this one too).
    active = httpx.get(
        f"{rec_server.base_url}/api/recordings/active", headers={"Authorization": f"Bearer {token}"}
    ).json()["recordings"]
    assert active == [{"id": upload["recording_id"], "state": "recording", "mode": "local", "started_by": "alice"}]
    with httpx.Client(timeout=10) as client:
        for seq in range(3):
            assert put(client, upload, seq, pieces[seq]).json()["stored"] is True
        # The network drops in the middle of chunk 3: the server never gets all of it.
        with pytest.raises((httpx.HTTPError, ConnectionResetError)):
            client.put(
                f"{upload['upload_url']}/3",
                content=_dropping_after(pieces[3][:1000]),
                headers={"Authorization": f"Bearer {upload['upload_key']}", "X-Chunk-Sha256": sha256(pieces[3])},
            )
        # The client resumes: asks where to go on, re-sends the last chunk it is unsure of.
        state = client.get(upload["upload_url"], headers={"Authorization": f"Bearer {upload['upload_key']}"}).json()
        assert state["next_seq"] == 3
        again = put(client, upload, 2, pieces[2]).json()
        assert again == {**again, "stored": False, "next_seq": 3}
        for seq in range(3, len(pieces)):
            assert put(client, upload, seq, pieces[seq]).status_code == 200
        done = finalize(client, upload, len(pieces))
        assert done.status_code == 200, done.text
        assert done.json()["tracks"][0]["sha256"] == hashlib.sha256(source).hexdigest()

    for ws in (ws_a, ws_b):
        assert ws.next("recording-state")["recording"]["state"] == "stopped"
    with rec_server.api() as api:
        body = wait_recording(api, upload["recording_id"], {"ready", "failed"}, 90)
        assert body["state"] == "ready", body
        assert body["job"]["status"] == "done" and body["job"]["progress"] == 1.0
        mp4 = api.get(f"/api/recordings/{upload['recording_id']}/download")
        assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    # The track on disk is the source, byte for byte: every chunk, in order, none twice.
    track_file = next((rec_server.data_dir / "recordings" / upload["recording_id"]).glob("trk_*.webm"))
    assert track_file.read_bytes() == source
    (tmp_path / "out.mp4").write_bytes(mp4.content)
    info = ffprobe(tmp_path / "out.mp4")
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    assert abs(float(info["format"]["duration"]) - 6.0) <= 1.0
    assert body["duration_s"] == pytest.approx(6.0, abs=1.0) and body["size"] == len(mp4.content)
    ws_a.close()
    ws_b.close()


def _dropping_after(first: bytes) -> Iterator[bytes]:
    yield first
    raise ConnectionResetError("network dropped")


def test_recording_bad_input_is_refused_and_nothing_escapes(rec_server: ServerProcess, tmp_path):
    room = rec_server.create_room(settings={"recording": "host"})
    host = rec_server.token(room, "host", role="host")["token"]
    guest = rec_server.token(room, "guest")["token"]
    ws_h, ws_g = joined(rec_server, host), joined(rec_server, guest)
    source = browser_like_webm(tmp_path / "call.webm", 2).read_bytes()

    assert start(rec_server, guest).json()["error"]["code"] == "forbidden"  # room setting: hosts only
    assert start(rec_server, host, name="../../etc/passwd").status_code == 422
    off_room = rec_server.create_room()
    off_token = rec_server.token(off_room, "x", role="host")["token"]
    ws_off = joined(rec_server, off_token)
    assert start(rec_server, off_token).status_code == 403  # default: recording off
    upload = start(rec_server, host).json()
    auth = {"Authorization": f"Bearer {upload['upload_key']}"}
    base = rec_server.base_url + "/api/recordings/upload"
    with httpx.Client(timeout=10) as client:
        bad = [
            (put(client, upload, 1, source[:CHUNK]), 409, "chunk_out_of_order"),
            (put(client, upload, 0, source[:CHUNK], "0" * 64), 422, "checksum_mismatch"),
            (put(client, upload, 0, source[: CHUNK + 1]), 413, "payload_too_large"),
            (put(client, upload, 0, b"<html>not a webm</html>" * 10), 415, "unsupported_media"),
            (put(client, {**upload, "upload_key": "wrong"}, 0, source[:CHUNK]), 404, "not_found"),
        ]
        for response, status, code in bad:
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
        traversal = [
            client.put(f"{base}/..%2F..%2Fescape/0", content=b"x", headers={**auth, "X-Chunk-Sha256": "0" * 64}),
            client.put(f"{base}/../../escape/0", content=b"x", headers={**auth, "X-Chunk-Sha256": "0" * 64}),
            client.get(f"{rec_server.base_url}/api/recordings/..%2F..%2Fdata", headers=auth),
        ]
        assert all(r.status_code in (404, 405, 422) for r in traversal), [r.status_code for r in traversal]
        assert put(client, upload, 0, source[:CHUNK]).status_code == 200
        # A stored chunk sent again with other bytes is a conflict, not an overwrite.
        other = bytearray(source[:CHUNK])
        other[-1] ^= 0xFF
        assert put(client, upload, 0, bytes(other)).json()["error"]["code"] == "chunk_conflict"
        missing = client.post(f"{base}/{upload['track']['id']}/finalize", json={"chunks": 3}, headers=auth)
        assert missing.json()["error"]["code"] == "chunks_missing"
    # Only the recordings folder, the database and the secret were written.
    allowed = {rec_server.data_dir / "recordings", rec_server.data_dir}
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.parent != tmp_path:
            assert path.parent in allowed or (rec_server.data_dir / "recordings") in path.parents, path
    for ws in (ws_h, ws_g, ws_off):
        ws.close()


@pytest.mark.slow
def test_recording_job_survives_server_kill_and_links_expire(tmp_path):
    source = browser_like_webm(tmp_path / "long.webm", 12).read_bytes()
    # A slow preset keeps the job running long enough to be killed in the middle.
    env = {"PEERCALL_TOKEN_SECRET": SECRET, "PEERCALL_RECORDING_PRESET": "slow"}
    server = start_server(tmp_path, extra_env=env)
    try:
        room = server.create_room(settings={"recording": "any"})
        token = server.token(room, "alice")["token"]
        ws = joined(server, token)
        upload = start(server, token).json()
        with httpx.Client(timeout=20) as client:
            pieces = [source[i : i + 1_000_000] for i in range(0, len(source), 1_000_000)]
            for seq, piece in enumerate(pieces):
                assert put(client, upload, seq, piece).status_code == 200
            assert finalize(client, upload, len(pieces)).status_code == 200
        with server.api() as api:
            deadline = time.monotonic() + 30
            while (job := api.get(f"/api/recordings/{upload['recording_id']}").json()["job"])["status"] != "running":
                assert time.monotonic() < deadline, job
                time.sleep(0.05)
        ws.close()
    finally:
        server.process.kill()  # a crash mid-job: no graceful shutdown
        server.process.wait()
    server = start_server(tmp_path, extra_env=env)
    try:
        with server.api() as api:
            body = wait_recording(api, upload["recording_id"], {"ready", "failed"}, 150)
            assert body["state"] == "ready" and body["job"]["attempts"] == 2, body
            link = api.post(f"/api/recordings/{upload['recording_id']}/links").json()
            rid = upload["recording_id"]
            assert api.get(f"/api/recordings/{rid}/thumbnail").content[:2] == b"\xff\xd8"
            actions = [(e["action"], e["target"]) for e in api.get("/api/audit").json()["entries"]]
            assert ("thumbnail", f"/api/recordings/{rid}/thumbnail") in actions, actions  # a key's download is audited
        assert httpx.get(f"{server.base_url}/api/recordings/{rid}/download").status_code == 401
        assert httpx.get(link["url"]).status_code == 200
        thumb = httpx.get(link["thumbnail_url"])
        assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
        url, sig = link["url"].split("&sig=")
        tampered = f"{url}&sig={'1' if sig[0] == '0' else '0'}{sig[1:]}"
        assert httpx.get(tampered).status_code == 401
        # A link signed with the node's key an hour ago has expired; the thumbnail's link opens only the thumbnail.
        old_link = UrlSigner(SECRET, clock=lambda: time.time() - 4000).sign(f"/api/recordings/{rid}/download", 60)
        expired = httpx.get(f"{server.base_url}{old_link}")
        assert expired.status_code == 401 and expired.json()["error"]["code"] == "link_expired"
        wrong_path = link["thumbnail_url"].replace("/thumbnail?", "/download?")
        assert httpx.get(wrong_path).status_code == 401
        with server.api() as api:
            assert api.delete(f"/api/recordings/{rid}").status_code == 204
            assert api.get(f"/api/recordings/{rid}").status_code == 404
        assert not (server.data_dir / "recordings" / rid).exists()
    finally:
        stop_server(server)


def test_recording_abandoned_by_a_closed_tab_is_salvaged(rec_server: ServerProcess, tmp_path):
    """The recording tab dies mid-upload: what reached the server is kept and processed."""
    source = browser_like_webm(tmp_path / "call.webm", 6).read_bytes()
    room = rec_server.create_room(settings={"recording": "any"})
    alice_token, bob_token = rec_server.token(room, "alice")["token"], rec_server.token(room, "bob")["token"]
    alice, bob = joined(rec_server, alice_token), joined(rec_server, bob_token)
    upload = start(rec_server, alice_token).json()
    pieces = [source[i : i + CHUNK] for i in range(0, len(source), CHUNK)]
    with httpx.Client(timeout=10) as client:
        for seq in range(len(pieces) // 2):
            assert put(client, upload, seq, pieces[seq]).status_code == 200
    alice.close(leave=True)  # the tab is closed mid-recording; nobody will finalize
    time.sleep(0.5)
    second = start(rec_server, bob_token)  # the room's next recording salvages the abandoned one
    assert second.status_code == 201, second.text
    with rec_server.api() as api:
        body = wait_recording(api, upload["recording_id"], {"ready", "failed"}, 90)
        assert body["state"] == "ready", body
        kept = b"".join(pieces[: len(pieces) // 2])
        assert body["tracks"][0]["sha256"] == sha256(kept) and body["tracks"][0]["bytes"] == len(kept)
        assert 1.0 <= body["duration_s"] <= 5.0
    bob.close()


def test_recording_abandoned_in_an_empty_room_is_salvaged_by_the_sweep(tmp_path: Path) -> None:
    """Everyone left (the room is in no hub any more) and nobody records there again: the
    periodic sweep still finds the running recording (it starts from the recordings, not
    from the rooms: one query per sweep, whatever the number of rooms) and processes it."""
    server = start_server(
        tmp_path,
        extra_env={
            "PEERCALL_TOKEN_SECRET": SECRET,
            "PEERCALL_RECORDING_MAX_CHUNK_BYTES": str(CHUNK),
            "PEERCALL_RECORDING_SWEEP_S": "1",
        },
    )
    try:
        source = browser_like_webm(tmp_path / "call.webm", 6).read_bytes()
        room = server.create_room(settings={"recording": "any"})
        token = server.token(room, "alice")["token"]
        alice = joined(server, token)
        upload = start(server, token).json()
        pieces = [source[i : i + CHUNK] for i in range(0, len(source), CHUNK)]
        with httpx.Client(timeout=10) as client:
            for seq in range(len(pieces) // 2):
                assert put(client, upload, seq, pieces[seq]).status_code == 200
        alice.close(leave=True)  # the only member: the room is empty from now on
        with server.api() as api:
            body = wait_recording(api, upload["recording_id"], {"ready", "failed"}, 90)
            assert body["state"] == "ready", body
            kept = b"".join(pieces[: len(pieces) // 2])
            assert body["tracks"][0]["sha256"] == sha256(kept)
    finally:
        stop_server(server)
