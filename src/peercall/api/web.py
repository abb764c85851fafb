"""Routes that serve files: the web client, the SDK, the embed helper, the admin console, API docs, health."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from peercall.api.deps import ServicesDep
from peercall.hub.base import HubUnavailable
from peercall.web import ADMIN_DIR, DOCS_DIR, EMBED_DIR, SDK_DIR, UI_DIR, vendor_dir

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], summary="The node can take calls (store and hub reachable, not draining)")
async def readyz(svc: ServicesDep) -> JSONResponse:
    problems: list[str] = []
    if svc.draining:
        problems.append("draining")
    try:
        await svc.store.ping()
    except Exception as exc:  # any store failure means "not ready"
        problems.append(f"store: {exc.__class__.__name__}")
    try:
        await svc.hub.ping()
    except HubUnavailable:  # Redis down: this node cannot route or resume anyone
        problems.append("hub: unavailable")
    status = 200 if not problems else 503
    return JSONResponse({"status": "ready" if status == 200 else "not_ready", "problems": problems}, status)


@cache
def _call_page_template() -> str:
    return (UI_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/call", include_in_schema=False)
async def call_page(svc: ServicesDep) -> HTMLResponse:
    """The call page, told which origins may embed it (its postMessage API trusts only those)."""
    origins = html.escape(" ".join(svc.settings.embed_origins), quote=True)
    meta = f'<meta name="peercall-embed-origins" content="{origins}">'
    page = _call_page_template().replace(
        '<meta name="referrer" content="no-referrer">', f'<meta name="referrer" content="no-referrer">\n  {meta}', 1
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/embed.js", include_in_schema=False)
async def embed_helper() -> FileResponse:
    """The host page's helper: creates the iframe and wraps the postMessage API."""
    return FileResponse(EMBED_DIR / "embed.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/admin", include_in_schema=False)
async def admin_page() -> FileResponse:
    """The admin console (a static page; it calls the REST API with the key the user enters)."""
    return FileResponse(ADMIN_DIR / "index.html", headers={"Cache-Control": "no-store"})


@router.get("/ice-test", include_in_schema=False)
async def ice_test_page() -> FileResponse:
    """The ICE tester: candidates per server and a relay-only loopback call per transport."""
    return FileResponse(UI_DIR / "ice-test.html", headers={"Cache-Control": "no-store"})


@router.get("/docs", include_in_schema=False)
async def docs_page() -> FileResponse:
    return FileResponse(DOCS_DIR / "index.html")


def mount_static(app: FastAPI) -> None:
    app.mount("/sdk", StaticFiles(directory=SDK_DIR), name="sdk")
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_DIR), name="docs-assets")
    app.mount("/admin-assets", StaticFiles(directory=ADMIN_DIR), name="admin-assets")
    swagger = vendor_dir() / "swagger-ui-dist"
    if Path(swagger).is_dir():
        app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger), name="swagger-ui")
    tasks = vendor_dir() / "@mediapipe" / "tasks-vision"
    if tasks.is_dir():  # in-call effects: MediaPipe Tasks wasm for the segmentation worker (model: /sdk)
        app.mount("/vendor/tasks-vision", StaticFiles(directory=tasks), name="tasks-vision")
    # SHA-256 for file transfers (incremental: WebCrypto cannot hash a file in pieces).
    noble = vendor_dir() / "@noble" / "hashes"
    if Path(noble).is_dir():
        app.mount("/vendor/noble-hashes", StaticFiles(directory=noble), name="noble-hashes")
