"""Snapshot image validation, content-addressed storage and the audit hash chain."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from peercall.errors import PeercallError
from peercall.snapshots.audit import AuditEntry, verify_chain
from peercall.snapshots.images import ImageLimits, check_image
from peercall.snapshots.storage import BlobStore, sha256_hex
from peercall.store import open_store
from peercall.store.base import RoomRecord
from peercall.store.snapshots_sql import SnapshotStore


def encode(fmt: str, size: tuple[int, int] = (64, 48), noise: bool = True) -> bytes:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) if noise else np.zeros((*size[::-1], 3), "u1")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_snapshot_image_accepts_real_images(fmt: str, mime: str):
    checked = check_image(encode(fmt), mime, ImageLimits())
    assert (checked.format.mime, checked.width, checked.height) == (mime, 64, 48)
    assert check_image(encode(fmt), None, ImageLimits()).format.mime == mime


def refusal(data: bytes, mime: str | None = None, **limits: int) -> str:
    with pytest.raises(PeercallError) as info:
        check_image(data, mime, ImageLimits(**limits))
    return info.value.code


def test_snapshot_image_refuses_everything_else():
    png = encode("PNG")
    assert refusal(b"") == "invalid_image"
    assert refusal(b"<html>not an image</html>") == "invalid_image"
    assert refusal(png, "image/jpeg") == "invalid_image"  # declared type must match the bytes
    assert refusal(png[: len(png) // 2]) == "invalid_image"  # truncated: the decode fails
    assert refusal(b"\xff\xd8\xff" + b"\x00" * 500) == "invalid_image"  # JPEG magic, garbage inside
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    assert refusal(gif.getvalue()) == "invalid_image"
    assert refusal(png, max_bytes=len(png) - 1) == "payload_too_large"
    # A small file with a huge canvas (decompression bomb) is refused from its header.
    bomb = encode("PNG", (6000, 6000), noise=False)
    assert len(bomb) < 200_000
    assert refusal(bomb, max_pixels=20_000_000) == "invalid_image"
    assert refusal(encode("PNG", (9000, 10), noise=False), max_side=8192) == "invalid_image"


def test_snapshot_blob_store_is_content_addressed_and_atomic(tmp_path: Path):
    blobs = BlobStore(tmp_path / "snapshots")
    data = encode("JPEG")
    digest, path = blobs.put(data, "jpg")
    assert digest == sha256_hex(data)
    assert path == tmp_path / "snapshots" / digest[:2] / f"{digest}.jpg"
    assert blobs.put(data, "jpg") == (digest, path)  # stored once
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    assert blobs.read(digest, "jpg") == data
    path.write_bytes(data[:-1] + b"\x00")
    with pytest.raises(OSError, match="does not match"):
        blobs.read(digest, "jpg")
    for bad in ("../../etc/passwd", "a" * 63, digest.upper()):
        with pytest.raises(ValueError):
            blobs.path_for(bad, "jpg")
    with pytest.raises(ValueError):
        blobs.path_for(digest, "sh")


@pytest.fixture
async def audit_store(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    snapshots = SnapshotStore(store.engine)  # type: ignore[attr-defined]
    await snapshots.open()
    yield store, snapshots
    await store.close()


def entry(room_id: str, n: int) -> AuditEntry:
    return AuditEntry(
        room_id=room_id,
        call_id=None,
        at=1000.0 + n,
        action="requested",
        actor="agent",
        device="customer",
        subject="customer",
        request_id=f"request-{n:04d}",
    )


async def test_snapshot_audit_chain_is_tamper_evident_and_append_only(audit_store):
    store, snapshots = audit_store
    for room_id in ("room_a", "room_b"):
        await store.create_room(RoomRecord(room_id, "", 2, {}, 0.0))
    # Concurrent writers still produce one unbroken chain per room.
    await asyncio.gather(*(snapshots.append_audit(entry("room_a" if n % 2 else "room_b", n)) for n in range(20)))
    trail = await snapshots.audit_trail("room_a")
    assert [e.seq for e in trail] == list(range(1, 11))
    assert verify_chain(trail) is None and verify_chain(await snapshots.audit_trail("room_b")) is None
    assert trail[1].prev_hash == trail[0].hash

    async with store.engine.begin() as conn:  # the database itself refuses edits
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.text("UPDATE snapshot_audit SET actor='someone' WHERE seq=3"))
    async with store.engine.begin() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.text("DELETE FROM snapshot_audit WHERE seq=3"))

    # Someone with raw access drops the trigger and edits a row: the chain shows where.
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DROP TRIGGER snapshot_audit_no_update"))
        await conn.execute(sa.text("UPDATE snapshot_audit SET actor='someone' WHERE room_id='room_a' AND seq=3"))
    assert verify_chain(await snapshots.audit_trail("room_a")) == 3
    assert verify_chain(await snapshots.audit_trail("room_b")) is None
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DROP TRIGGER snapshot_audit_no_delete"))
        await conn.execute(sa.text("DELETE FROM snapshot_audit WHERE room_id='room_b' AND seq=5"))
    assert verify_chain(await snapshots.audit_trail("room_b")) == 6


async def test_snapshot_audit_chain_survives_two_writers(audit_store):
    """Two stores on one database (as two server processes would be): no fork, no gap."""
    store, first = audit_store
    second = SnapshotStore(store.engine)
    await store.create_room(RoomRecord("room_c", "", 2, {}, 0.0))
    writers = [first, second]
    await asyncio.gather(*(writers[n % 2].append_audit(entry("room_c", n)) for n in range(24)))
    trail = await first.audit_trail("room_c")
    assert [e.seq for e in trail] == list(range(1, 25)) and verify_chain(trail) is None
