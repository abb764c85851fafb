"""Chunked, resumable uploads: each chunk is checked, made durable, then acknowledged.

A chunk is acknowledged (its row written) only after its file is fsynced and renamed
into place, so a server crash loses at most the chunks it had not yet acknowledged and
the client re-sends exactly those (``next_seq``). Chunks must arrive in order: a
chunk past the next expected one is refused, re-sending a stored chunk with the same
checksum is a no-op, with another checksum a conflict. Finalize refuses gaps, joins the
chunks in order and checks that the result is a WebM.

Every path comes from server-generated ids checked against :data:`ID_PATTERN` and is
verified to lie under the recordings folder; nothing from the client names a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from peercall.errors import PeercallError
from peercall.recording.store import RecordingStore, TrackRow
from peercall.security.uploads import SNIFF_BYTES, sniff

ID_PATTERN = re.compile(r"(rec|trk)_[A-Za-z0-9_-]{12,40}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ChunkAck:
    seq: int
    stored: bool  # False: we already had this chunk (idempotent re-send)
    next_seq: int
    bytes: int


class RecordingFiles:
    """The recordings folder: one directory per recording, chunk files per track."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def recording_dir(self, recording_id: str) -> Path:
        return self._inside(_checked(recording_id))

    def track_dir(self, recording_id: str, track_id: str) -> Path:
        return self._inside(_checked(recording_id), _checked(track_id))

    def track_file(self, recording_id: str, track_id: str) -> Path:
        return self._inside(_checked(recording_id), f"{_checked(track_id)}.webm")

    def output(self, recording_id: str, name: str) -> Path:
        if name not in ("recording.mp4", "thumbnail.jpg"):
            raise ValueError(name)
        return self._inside(_checked(recording_id), name)

    def remove(self, recording_id: str) -> None:
        shutil.rmtree(self.recording_dir(recording_id), ignore_errors=True)

    def _inside(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root):
            raise PeercallError("bad_request", "path outside the recordings folder")
        return path


class UploadSessions:
    """PUT chunk / status / finalize for the tracks of recordings."""

    def __init__(
        self, store: RecordingStore, files: RecordingFiles, *, max_chunk: int, max_bytes: int, max_chunks: int
    ):
        self.store = store
        self.files = files
        self.max_chunk = max_chunk
        self.max_bytes = max_bytes
        self.max_chunks = max_chunks
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, track_id: str) -> asyncio.Lock:
        return self._locks.setdefault(track_id, asyncio.Lock())

    async def put(self, track: TrackRow, seq: int, body: bytes, sha256: str) -> ChunkAck:
        if track.complete:
            raise PeercallError("recording_closed", "this track is finalized; no more chunks")
        if not 0 <= seq < self.max_chunks:
            raise PeercallError("bad_request", f"seq must be 0..{self.max_chunks - 1}")
        if not SHA256_PATTERN.fullmatch(sha256):
            raise PeercallError("bad_request", "X-Chunk-Sha256 must be 64 lowercase hex digits")
        if not body:
            raise PeercallError("bad_request", "empty chunk")
        if len(body) > self.max_chunk:
            raise PeercallError("payload_too_large", f"a chunk may have at most {self.max_chunk} bytes")
        if hashlib.sha256(body).hexdigest() != sha256:
            raise PeercallError("checksum_mismatch", f"chunk {seq}: body does not match X-Chunk-Sha256")
        if seq == 0 and sniff(body[:SNIFF_BYTES]) != "webm":  # the one content sniffer of uploads
            raise PeercallError("unsupported_media", "a recording must be WebM (EBML header missing)")
        async with self._lock(track.id):
            fresh = await self.store.get_track(track.id)
            assert fresh is not None
            known = await self.store.chunk(track.id, seq)
            if known is not None:
                if known[1] != sha256:
                    raise PeercallError("chunk_conflict", f"chunk {seq} is already stored with another checksum")
                return ChunkAck(seq, False, fresh.chunks, fresh.bytes)
            if seq != fresh.chunks:
                raise PeercallError("chunk_out_of_order", f"expected chunk {fresh.chunks}, got {seq}")
            if fresh.bytes + len(body) > self.max_bytes:
                raise PeercallError("payload_too_large", f"a track may have at most {self.max_bytes} bytes")
            directory = self.files.track_dir(track.recording_id, track.id)
            await asyncio.to_thread(_write_durably, directory / f"{seq:06d}.chunk", body)
            await self.store.add_chunk(track.id, seq, len(body), sha256)
            return ChunkAck(seq, True, fresh.chunks + 1, fresh.bytes + len(body))

    async def finalize(self, track: TrackRow, expected_chunks: int) -> tuple[Path, str]:
        """Join the chunks into ``<track>.webm`` (checked: no gap, every checksum, WebM)."""
        async with self._lock(track.id):
            listed = await self.store.chunk_list(track.id)
            seqs = [seq for seq, _, _ in listed]
            if seqs != list(range(expected_chunks)):
                missing = sorted(set(range(expected_chunks)) - set(seqs))[:10]
                raise PeercallError(
                    "chunks_missing", f"have {len(seqs)} chunks, expected {expected_chunks}; missing {missing}"
                )
            if not listed:
                raise PeercallError("chunks_missing", "no chunk was uploaded")
            directory = self.files.track_dir(track.recording_id, track.id)
            target = self.files.track_file(track.recording_id, track.id)
            digest = await asyncio.to_thread(_assemble, directory, listed, target)
            return target, digest


def _checked(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise PeercallError("not_found", "no such recording or track")
    return value


def _write_durably(path: Path, data: bytes) -> None:
    """Write, fsync, rename, fsync the directory: after this returns the chunk survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    with part.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, path)
    _fsync_dir(path.parent)


def _assemble(directory: Path, listed: list[tuple[int, int, str]], target: Path) -> str:
    """Concatenate the chunks in order, re-checking each checksum; returns the file's sha256."""
    part = target.with_suffix(".part")
    whole = hashlib.sha256()
    try:
        with part.open("wb") as out:
            for seq, size, sha256 in listed:
                data = (directory / f"{seq:06d}.chunk").read_bytes()
                if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
                    raise PeercallError("checksum_mismatch", f"stored chunk {seq} is damaged")
                whole.update(data)
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return whole.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
