"""Audit log of dashboard actions, written by one ASGI middleware.

Every successful state-changing ``/api/`` request made with an API key is recorded
(who: the key's name; what: the route's endpoint; on what: the path parameters), so
new routes are audited without remembering to. Safe (GET) routes that disclose
something sensitive — a recording download — opt in with :func:`audited`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peercall.store.base import AuditRecord

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def audited(endpoint: F) -> F:
    """Mark a read-only route whose use must be audited (e.g. downloads)."""
    endpoint.__peercall_audited__ = True  # type: ignore[attr-defined]
    return endpoint


class AuditLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: Message) -> None:
            # Written before the response completes: a client that reads the log right
            # after its own download must find that download there.
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await self._record(scope, status)
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _record(scope: Scope, status: int) -> None:
        actor = (scope.get("state") or {}).get("api_key_name")
        endpoint = scope.get("endpoint")
        if actor is None or endpoint is None or status >= 400:
            return
        if scope["method"] in _SAFE and not getattr(endpoint, "__peercall_audited__", False):
            return
        params = {k: str(v) for k, v in (scope.get("path_params") or {}).items()}
        entry = AuditRecord(time.time(), str(actor), getattr(endpoint, "__name__", "?"), scope["path"], params)
        try:
            await scope["app"].state.services.store.add_audit(entry)
        except Exception:  # the action happened; a lost audit row must be visible in logs
            log.exception("audit log write failed", extra={"action": entry.action, "target": entry.target})
