"""Graceful drain on SIGTERM: move a node's clients to the other nodes before exiting.

uvicorn's own SIGTERM handling closes every WebSocket at once (close code 1012), so all of
a node's clients reconnect in the same instant. Instead, on the first SIGTERM:

1. ``Services.draining`` is set: ``/readyz`` answers 503 and the load balancer stops
   sending new connections here;
2. new sockets are refused with the retryable error ``draining`` (close 4015);
3. every joined client gets a ``drain`` frame and resumes its session on another node
   after a random delay within ``drain_window_s`` (the session lives in Redis);
4. the process exits (status 0) once no socket is left, or after ``drain_timeout_s``;
5. a watchdog thread guarantees the deadline: a shutdown still running
   :data:`WATCHDOG_MARGIN_S` after the drain timeout plus uvicorn's graceful-shutdown
   time (a stuck close, seen once in a 1,000-client bench run) ends the process with
   status 1 and a critical log line, so an orchestrator never waits on it forever.

A second SIGTERM, or SIGINT (Ctrl-C), stops at once as uvicorn does. With the in-memory
hub (one node, no Redis) the sessions cannot move anywhere: SIGTERM stops at once (the
clients resume or rejoin when the node is back), but still exits with status 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

log = logging.getLogger("peercall.drain")

_POLL_S = 0.1
WATCHDOG_MARGIN_S = 15.0


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI, *, timeout_s: float, window_s: float) -> None:
        super().__init__(config)
        self._app = app
        self._timeout_s = timeout_s
        # Leave time for the late movers to arrive elsewhere before the deadline.
        self._window_s = min(window_s, timeout_s / 2)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in the main (event loop) thread, between two bytecodes of whatever ran.
        if sig != signal.SIGTERM or self._timeout_s <= 0 or self._drain is not None or self._loop is None:
            super().handle_exit(sig, frame)
            return
        self._loop.call_soon_threadsafe(self._start)
        limit = self._timeout_s + (self.config.timeout_graceful_shutdown or 0) + WATCHDOG_MARGIN_S
        watchdog = threading.Timer(limit, _force_exit, args=(limit,))
        watchdog.daemon = True  # a clean exit does not wait for it
        watchdog.start()

    def _start(self) -> None:
        if self._drain is None:
            self._drain = asyncio.create_task(self._run_drain(), name="drain")

    async def _run_drain(self) -> None:
        services: Any = getattr(self._app.state, "services", None)
        if services is None:  # still starting: nothing to move
            self.should_exit = True
            return
        started = time.monotonic()
        services.draining = True
        if not services.sessions_shared:  # in-memory hub: no other node can take the sessions over
            log.info("not draining: sessions live in this process only (no Redis); stopping")
            self.should_exit = True
            return
        endpoint = services.signaling
        count = endpoint.joined()
        log.info("draining: %d sockets, window %.1f s, timeout %.1f s", count, self._window_s, self._timeout_s)
        endpoint.drain(self._window_s)
        deadline = started + self._timeout_s
        while endpoint.joined() and time.monotonic() < deadline and not self.should_exit:
            await asyncio.sleep(_POLL_S)
        left = endpoint.joined()
        log.info("drained in %.1f s (%d of %d sockets still open)", time.monotonic() - started, left, count)
        self.should_exit = True


def _force_exit(limit_s: float) -> None:
    log.critical("shutdown still running %.0f s after SIGTERM: exiting now (status 1)", limit_s)
    logging.shutdown()
    os._exit(1)
