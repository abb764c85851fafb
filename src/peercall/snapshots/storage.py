"""Content-addressed files for snapshot images: ``<root>/<sha[:2]>/<sha>.<ext>``.

The name comes only from the SHA-256 of the bytes and a fixed extension, never from user
input. A file is written to a temporary name in the same directory, flushed to disk and
atomically renamed, so a crash leaves either nothing or the complete image — never a
partial file under a valid name. Identical bytes are stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTS = frozenset({"jpg", "png", "webp"})


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str, ext: str) -> Path:
        if not _SHA256.match(sha256) or ext not in _EXTS:
            raise ValueError("not a content address")
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def put(self, data: bytes, ext: str) -> tuple[str, Path]:
        """Store ``data`` (blocking I/O: run in a thread); returns its hash and path."""
        digest = sha256_hex(data)
        path = self.path_for(digest, ext)
        if path.exists() and path.stat().st_size == len(data):
            return digest, path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, path

    def read(self, sha256: str, ext: str) -> bytes:
        """The stored bytes, checked against their address (a changed file is an error)."""
        data = self.path_for(sha256, ext).read_bytes()
        if sha256_hex(data) != sha256:
            raise OSError(f"snapshot file {sha256[:12]}… does not match its hash")
        return data
