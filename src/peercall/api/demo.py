"""``/demo``: a newcomer's first call without a dashboard (only with ``--demo``).

Each visit creates a room and two join links, one per tab or device.
"""

from __future__ import annotations

import html
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from peercall.api.deps import ServicesDep
from peercall.api.urls import base_url
from peercall.errors import PeercallError

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>peercall demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/ui/demo.css"></head>
<body><main class="demo">
<h1>peercall demo call</h1>
<p>Room <code>{room}</code> is ready. Open one link per tab or device.</p>
<ol>
<li><a data-testid="host-link" href="{host}" target="_blank" rel="noopener">Join as host (Alice)</a></li>
<li><a data-testid="guest-link" href="{guest}" target="_blank" rel="noopener">Join as guest (Bob)</a>
<p>Send this link to the other device:</p><textarea readonly rows="4">{guest}</textarea></li>
</ol>
<p>Links expire in one hour. <a href="/demo">Start another call</a> · <a href="/docs">API docs</a></p>
</main></body></html>
"""


@router.get("/demo")
async def demo(request: Request, svc: ServicesDep) -> HTMLResponse:
    if not svc.settings.demo:
        raise PeercallError("demo_disabled", "start the server with --demo to use /demo")
    room = await svc.rooms.create_room(f"demo-{secrets.token_hex(3)}", 2, {})
    base = base_url(request, svc.settings.public_url)
    links = {}
    for label, identity, name, role in (("host", "alice", "Alice", "host"), ("guest", "bob", "Bob", "participant")):
        token, _ = svc.tokens.issue(room.id, identity, name, role, 3600)  # type: ignore[arg-type]
        links[label] = html.escape(f"{base}/call#token={token}")
    page = _PAGE.format(room=html.escape(room.id), **links)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
