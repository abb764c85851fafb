"""Answer a host's snapshot request from Python (bots, kiosks, tests).

The browser SDK captures its raw camera at the best resolution the device offers; a
Python peer's "camera" is its video source, so it takes the next frame of that source at
its full size (through the relay, so the connections lose no frame), encodes it as JPEG
and uploads it with the join token and the request id — the server decides the rest. When
it cannot (no video, upload refused) it sends ``snapshot-failed`` so the host is not left
waiting.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from PIL import Image

if TYPE_CHECKING:
    from .peer import Peer
    from .reconnect import Dialer

logger = logging.getLogger(__name__)

FRAME_TIMEOUT_S = 5.0


def http_base(url: str) -> str:
    """The server's http(s) origin from the URL the peer joined with (http(s) or ws(s))."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/").removesuffix("/ws")
    return urlunsplit((scheme, parts.netloc, path, "", ""))


async def grab_jpeg(peer: Peer, quality: int = 92) -> bytes:
    """The next frame of our video source, full size, as JPEG."""
    source = peer._sources.get("video")
    if source is None:
        raise RuntimeError("this peer sends no video")
    reader = peer._relay.subscribe(source)
    try:
        frame: Any = await asyncio.wait_for(reader.recv(), FRAME_TIMEOUT_S)
    finally:
        reader.stop()
    pixels = frame.to_ndarray(format="rgb24")
    out = io.BytesIO()
    await asyncio.to_thread(Image.fromarray(pixels).save, out, "JPEG", quality=quality)
    return out.getvalue()


async def answer_request(peer: Peer, frame: dict[str, Any], dialer: Dialer) -> None:
    """Capture and upload for ``frame`` (a ``snapshot-request``); report a failure to the host."""
    request_id = str(frame.get("request_id", ""))
    try:
        data = await grab_jpeg(peer)
        async with httpx.AsyncClient(base_url=http_base(dialer.url), verify=dialer.ssl or True, timeout=20) as client:
            response = await client.post(
                "/api/snapshots",
                params={"request_id": request_id, "method": "grabFrame"},
                content=data,
                headers={"Authorization": f"Bearer {dialer.token}", "Content-Type": "image/jpeg"},
            )
        if response.status_code != 201:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:150]}")
        logger.info("peer %s: snapshot %s stored", peer.peer_id, response.json().get("id"))
    except Exception as exc:
        logger.warning("peer %s: snapshot request %s failed: %s", peer.peer_id, request_id, exc)
        reason = f"{type(exc).__name__}: {exc}"[:200]
        try:
            await peer._link.send({"type": "snapshot-failed", "request_id": request_id, "reason": reason})
        except Exception as send_exc:  # signaling is down: the host's request times out instead
            logger.debug("could not report the failure: %s", send_exc)
