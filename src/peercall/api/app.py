"""The ASGI application factory: one FastAPI app per node."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, WebSocket
from fastapi.responses import RedirectResponse

import peercall
from peercall.api import calls_stats, chat, demo, ice, moderation, recordings, rooms, snapshots, web, webhooks
from peercall.api import metrics as metrics_api
from peercall.api import security as security_api
from peercall.api.errors import BodySizeLimit, install_error_handlers
from peercall.api.openapi_limits import publish_config_limits
from peercall.api.security_headers import SecurityHeaders
from peercall.api.services import Services, build_services
from peercall.api.signaling_path import SIGNALING_PATH
from peercall.config import Settings
from peercall.observability.metrics import Metrics
from peercall.security.audit import AuditLog
from peercall.security.http import install_http_security
from peercall.turn.monitor import TurnMonitor

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; services open in the lifespan so tests can build apps inline."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, app.state.metrics)
        app.state.services = services
        turn_monitor = app.state.turn_monitor = TurnMonitor.from_settings(settings, services.ice, app.state.metrics)
        turn_monitor.start()
        try:
            yield
        finally:
            await turn_monitor.stop()
            await _shutdown(services)

    app = FastAPI(
        title="peercall",
        version=peercall.__version__,
        summary="Peer-to-peer WebRTC calls: rooms, join tokens, ICE servers, call history.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        path_limits=snapshots.body_limits(settings),
        overrides={recordings.CHUNK_PATH_PREFIX: settings.recording_max_chunk_bytes},
    )
    app.add_middleware(
        SecurityHeaders, frame_ancestors=settings.frame_ancestors, embed_origins=tuple(settings.embed_origins)
    )
    app.add_middleware(AuditLog)
    install_http_security(app, settings)
    publish_config_limits(app, settings)
    app.include_router(web.router)
    app.include_router(rooms.router)
    app.include_router(chat.router)
    app.include_router(moderation.router)
    app.include_router(ice.router)
    app.include_router(demo.router)
    app.include_router(metrics_api.router)
    app.include_router(snapshots.router)
    app.include_router(calls_stats.router)
    app.include_router(security_api.router)
    app.include_router(recordings.router)
    app.include_router(webhooks.router)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/demo" if settings.demo else "/docs")

    async def signaling(websocket: WebSocket) -> None:
        await app.state.services.signaling(websocket)

    app.add_api_websocket_route(SIGNALING_PATH, signaling)
    web.mount_static(app)
    return app


async def _shutdown(services: Services) -> None:
    """Graceful stop: uvicorn has closed the sockets (each session left its room); close the store."""
    services.draining = True
    await services.close()
    log.info("peercall stopped")
