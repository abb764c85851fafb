"""``GET /metrics``: Prometheus scrape endpoint.

Metrics reveal infrastructure (TURN servers, their health), so the route is not public:
it takes ``Authorization: Bearer <metrics_token>`` when one is configured, else an API key.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from peercall.api.deps import Credentials, ServicesDep
from peercall.api.schemas import ErrorOut
from peercall.errors import PeercallError
from peercall.observability.metrics import Metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (bearer: metrics_token, else an API key)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"model": ErrorOut}},
)
async def metrics(request: Request, svc: ServicesDep, credentials: Credentials) -> Response:
    token = svc.settings.metrics_token
    if token:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise PeercallError("unauthorized", "send 'Authorization: Bearer <metrics token>'")
    else:
        svc.api_keys.check(f"Bearer {credentials.credentials}" if credentials else None)
    registry: Metrics = request.app.state.metrics
    if svc.server_metrics is not None:
        svc.server_metrics.refresh(svc.signaling.sessions, svc.rooms, svc.keeper.suspended)
    body, content_type = registry.render()
    return Response(body, media_type=content_type)
