"""Receiving files from users: size capped while streaming, content sniffed, stored under a
content-addressed name.

The cap is enforced on the bytes as they arrive, so an oversized upload costs at most
``max_bytes`` plus one chunk of disk and is deleted; nothing the client says (file name,
Content-Type) decides the type or the path. The stored name is ``<sha256>.<kind>`` in a
server-owned directory. A feature that accepts uploads (snapshots, recordings sent by a
peer) passes ``request.stream()`` here and keeps only the returned :class:`StoredUpload`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from peercall.errors import PeercallError

SNIFF_BYTES = 64


@dataclass(frozen=True)
class StoredUpload:
    path: Path
    sha256: str
    size: int
    kind: str


def sniff(head: bytes) -> str | None:
    """The media kind from the first bytes (magic numbers), or None."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"  # EBML (Matroska/WebM)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"OggS"):
        return "ogg"
    return None


async def receive_upload(
    chunks: AsyncIterator[bytes], directory: Path, *, max_bytes: int, allowed: frozenset[str]
) -> StoredUpload:
    """Stream ``chunks`` to ``directory``; raise ``payload_too_large`` / ``unsupported_media``."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    temp = Path(temp_name)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PeercallError("payload_too_large", f"upload exceeds {max_bytes} bytes")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    kind = sniff(head) if len(head) >= min(SNIFF_BYTES, 12) else None
                    if len(head) >= 12 and (kind is None or kind not in allowed):
                        raise PeercallError("unsupported_media", f"accepted: {', '.join(sorted(allowed))}")
                digest.update(chunk)
                out.write(chunk)
        kind = sniff(head)
        if kind is None or kind not in allowed:
            raise PeercallError("unsupported_media", f"accepted: {', '.join(sorted(allowed))}")
        final = directory / f"{digest.hexdigest()}.{kind}"
        os.replace(temp, final)
        return StoredUpload(final, digest.hexdigest(), size, kind)
    finally:
        temp.unlink(missing_ok=True)
