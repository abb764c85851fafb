"""Check that an upload really is one still image before anything is stored.

Three gates, cheapest first: the byte count, the magic number (JPEG, PNG or WebP — what
browsers produce from ``canvas.toBlob`` and ``ImageCapture.takePhoto``), then Pillow reads
the header (dimension and pixel caps, so a "decompression bomb" is refused before its
pixels are allocated) and decodes every pixel (a truncated or corrupt file fails here).
The bytes are never re-encoded: what is stored and hashed is exactly what the device sent.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from peercall.errors import PeercallError


@dataclass(frozen=True)
class ImageFormat:
    mime: str
    ext: str
    pillow: str  # Pillow's name for the format


JPEG = ImageFormat("image/jpeg", "jpg", "JPEG")
PNG = ImageFormat("image/png", "png", "PNG")
WEBP = ImageFormat("image/webp", "webp", "WEBP")
FORMATS: dict[str, ImageFormat] = {f.mime: f for f in (JPEG, PNG, WEBP)}


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 8 * 1024 * 1024
    max_side: int = 8192
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class CheckedImage:
    format: ImageFormat
    width: int
    height: int


def sniff(data: bytes) -> ImageFormat | None:
    """The format named by the file's magic number, if it is one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def check_image(data: bytes, declared_mime: str | None, limits: ImageLimits) -> CheckedImage:
    """Validate ``data`` or raise ``payload_too_large`` / ``invalid_image``. CPU-bound: run in a thread."""
    if len(data) > limits.max_bytes:
        raise PeercallError("payload_too_large", f"a snapshot may be at most {limits.max_bytes} bytes")
    if not data:
        raise PeercallError("invalid_image", "the upload is empty")
    fmt = sniff(data)
    if fmt is None:
        raise PeercallError("invalid_image", "not a JPEG, PNG or WebP image")
    if declared_mime is not None and declared_mime != fmt.mime:
        raise PeercallError("invalid_image", f"content-type {declared_mime} does not match the data ({fmt.mime})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt.pillow]) as image:
                width, height = image.size
                if width < 1 or height < 1 or max(width, height) > limits.max_side:
                    raise PeercallError("invalid_image", f"image sides must be 1..{limits.max_side} pixels")
                if width * height > limits.max_pixels:
                    raise PeercallError("invalid_image", f"image has more than {limits.max_pixels} pixels")
                if getattr(image, "n_frames", 1) != 1:
                    raise PeercallError("invalid_image", "animated images are not snapshots")
                image.load()  # decode every pixel: truncated or corrupt data fails here
    except PeercallError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise PeercallError("invalid_image", f"the image cannot be decoded ({type(exc).__name__})") from None
    return CheckedImage(fmt, width, height)
