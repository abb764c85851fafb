"""Bounded outbound queue for one WebSocket, so a slow reader can never make the
server buffer without limit (LiveKit's fail-fast per-client channel is the model)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from peercall.errors import ERRORS
from peercall.hub.base import EncodedFrame, encode_frame

log = logging.getLogger(__name__)

NORMAL_CLOSE = 1000
_CLOSE_AFTER_TYPES = frozenset({"room-ended"})


class Outbox:
    """Frames waiting to be written to one socket, and the task that writes them."""

    def __init__(self, websocket: WebSocket, max_frames: int) -> None:
        self._ws = websocket
        self._max = max_frames
        # A list and one waiter instead of an asyncio.Queue: a Queue holds three deques
        # (~2.3 KiB per socket even when empty, measured at 4,000 sockets) and wakes its
        # getter through more machinery per frame. Bounded by `deliver`; there is always
        # room for the end marker (None).
        self._queue: list[dict[str, Any] | None] = []
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        # Called when the outbox stops taking frames, so the read loop stops waiting for a
        # client that no longer reads (a slow consumer sends nothing either).
        self.on_end: Callable[[], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump())

    def deliver(self, frame: dict[str, Any]) -> None:
        """Non-blocking enqueue; a full queue means the client stopped reading."""
        if self.close_code is not None:
            return
        if len(self._queue) >= self._max:
            log.warning("slow consumer: closing connection")
            self._queue.clear()
            self._end(ERRORS["slow_consumer"].close_code or 4013)
            return
        self._put(frame)
        close_code = close_code_for(frame)
        if close_code is not None:
            self._end(close_code)

    def finish(self, code: int = NORMAL_CLOSE) -> None:
        """Close the socket after the frames already queued."""
        if self.close_code is None:
            self._end(code)

    def _put(self, frame: dict[str, Any] | None) -> None:
        self._queue.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _get(self) -> dict[str, Any] | None:
        while not self._queue:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.pop(0)

    def _end(self, code: int) -> None:
        self.close_code = code
        self._put(None)
        if self.on_end is not None:
            self.on_end()

    async def wait_closed(self, timeout: float = 5.0) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()

    async def _pump(self) -> None:
        try:
            while True:
                frame = await self._get()
                if frame is None:
                    break
                # The hub's frames come encoded already (EncodedFrame); the rest are ours.
                text = frame.text if type(frame) is EncodedFrame else encode_frame(frame)
                await self._ws.send_text(text)
        except Exception as exc:  # the peer went away while we were writing
            log.debug("send failed: %s", exc)
        finally:
            if self._ws.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):  # already closed by the peer
                    await self._ws.close(self.close_code or NORMAL_CLOSE)


def close_code_for(frame: dict[str, Any]) -> int | None:
    """The close code to close with after sending ``frame`` (fatal errors, ``room-ended``)."""
    if frame.get("type") == "error" and frame.get("fatal"):
        kind = ERRORS.get(str(frame.get("code")))
        return kind.close_code if kind and kind.close_code else 4500
    if frame.get("type") in _CLOSE_AFTER_TYPES:
        return NORMAL_CLOSE
    return None
