"""Run one node with uvicorn (SIGTERM: drain the clients to other nodes, then exit; SIGINT: stop)."""

from __future__ import annotations

import gc
import logging
import secrets
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from peercall.api.app import create_app
from peercall.api.signaling_path import SignalingFastPath, signaling_protocol
from peercall.config import Settings
from peercall.observability.logs import configure_logging
from peercall.server.drain import DrainingServer
from peercall.server.tls import ensure_self_signed, local_addresses

log = logging.getLogger("peercall")


def _tune_gc(young_threshold: int) -> None:
    """Keep the cyclic GC's full collections off the relay path.

    Measured with 4,000 connections relaying 4,000 frames/s (bench/signaling_load.py and a
    gc.callbacks probe): at CPython's default thresholds a young collection ran every few
    ms, so everything that lives a second — each connection's read timeout, frames waiting
    in a send queue — was promoted to the oldest generation, which then filled by 25 % every
    2-3 s and was collected in full: 200 objects per connection, 100-650 ms per collection,
    and relayed frames' p99 went from ~13 ms to ~900 ms. With a 20,000-object young
    generation, such objects die young; full collections stop during steady relay.

    Everything alive after start-up (modules, classes, the app: ~170 k objects) lives as
    long as the process: frozen, so no collection walks it again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, 20, 20)


def serve(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format, node=f"{socket.gethostname()}:{settings.port}")
    if not settings.all_api_keys() and not settings.scoped_api_keys:
        generated = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"api_key": generated})
        log.warning("no API key configured; generated one for this run: %s (set PEERCALL_API_KEY)", generated)
    ssl_files = settings.tls_files()
    if settings.tls == "auto":
        ssl_files = ensure_self_signed(settings.data_dir / "tls")
    scheme = "https" if ssl_files else "http"
    shown_host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    base = settings.public_url or f"{scheme}://{shown_host}:{settings.port}"
    if settings.demo:
        print(f"\n  peercall demo: open {base}/demo to start a call (two tabs or two devices)", flush=True)
        if settings.host in ("0.0.0.0", "::") and not settings.public_url:
            for address in local_addresses():
                if "." in address and not address.startswith("127."):
                    lan = f"{scheme}://{address}:{settings.port}/demo"
                    print(f"  from another device on your network: {lan}", flush=True)
    print(f"\n  API docs: {base}/docs\n", flush=True)
    app = create_app(settings)
    _tune_gc(settings.gc_young_threshold)
    config = uvicorn_config(settings, app, ssl_files)
    DrainingServer(config, app, timeout_s=settings.drain_timeout_s, window_s=settings.drain_window_s).run()


def uvicorn_config(settings: Settings, app: FastAPI, ssl_files: tuple[Path, Path] | None = None) -> uvicorn.Config:
    """How a node serves ``app`` (tests build their in-process servers with it too)."""
    return uvicorn.Config(
        SignalingFastPath(app),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(ssl_files[0]) if ssl_files else None,
        ssl_keyfile=str(ssl_files[1]) if ssl_files else None,
        # Our own WebSocket protocol for /ws (no ASGI per socket); other paths get uvicorn's.
        ws=signaling_protocol(app),
        # A little above the protocol cap so oversized frames get a clear error frame.
        ws_max_size=settings.max_message_bytes * 4,
        # No protocol-level pings: clients ping every 5 s and a socket silent for
        # `idle_timeout_s` (15 s) is dead. uvicorn's own pings duplicated that at a cost of
        # a write per socket every 5 s (~7 % of a node's CPU relaying 4,000 frames/s).
        ws_ping_interval=None,
        # Signaling frames are small JSON: compression gains little, while each socket's
        # zlib state (permessage-deflate) cost ~4x the rest of its memory (bench/signaling_load.py).
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers go through ours (text or JSON)
        proxy_headers=False,
        server_header=False,
    )
