"""Dashboard routes: webhook endpoints of the calling API key, and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from peercall.api.deps import ApiKey, ServicesDep
from peercall.api.schemas import ErrorOut
from peercall.errors import PeercallError
from peercall.webhooks.dispatcher import WebhookDispatcher
from peercall.webhooks.events import EventType
from peercall.webhooks.ssrf import check_destination
from peercall.webhooks.store import Endpoint

router = APIRouter(
    prefix="/api/webhooks", tags=["webhooks"], dependencies=[ApiKey], responses={401: {"model": ErrorOut}}
)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        ...,
        min_length=10,
        max_length=2048,
        pattern=r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?([/?#][^\s]*)?$",
        description="https URL that receives POSTed events (http only where the server allows it)",
    )
    events: list[EventType] = Field(..., min_length=1, max_length=6, description="Event types to receive")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: float


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC key of Peercall-Signature; shown only once, keep it secret")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event: str
    event_id: str = Field(description="The same on every retry: receivers deduplicate on it")
    url: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    response_status: int | None
    error: str | None
    created_at: float
    last_attempt_at: float | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


def _dispatcher(svc: ServicesDep) -> WebhookDispatcher:
    if svc.webhooks is None:
        raise PeercallError("not_found", "webhooks are not available on this server")
    return svc.webhooks


def _owner(request: Request) -> str:
    return str(request.state.api_key_name)


def _out(endpoint: Endpoint) -> WebhookOut:
    return WebhookOut(id=endpoint.id, url=endpoint.url, events=endpoint.events, created_at=endpoint.created_at)


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events (signed with the returned secret)",
    responses={403: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def create_webhook(body: WebhookCreate, request: Request, svc: ServicesDep) -> WebhookCreated:
    dispatcher = _dispatcher(svc)
    policy = dispatcher.policy
    await check_destination(body.url, allow_http=policy.allow_http, allow_private=policy.allow_private)
    endpoint = await dispatcher.store.add_endpoint(
        _owner(request), body.url, list(body.events), svc.settings.webhook_max_endpoints_per_key
    )
    return WebhookCreated(**_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", response_model=WebhookList, summary="This API key's webhook endpoints")
async def list_webhooks(request: Request, svc: ServicesDep) -> WebhookList:
    return WebhookList(webhooks=[_out(e) for e in await _dispatcher(svc).store.endpoints(_owner(request))])


@router.get("/deliveries", response_model=DeliveryList, summary="Delivery log of this API key's webhooks")
async def list_deliveries(
    request: Request,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    endpoint_id: Annotated[str | None, Query(max_length=64)] = None,
) -> DeliveryList:
    rows = await _dispatcher(svc).store.deliveries(_owner(request), limit=limit, endpoint_id=endpoint_id)
    return DeliveryList(deliveries=[DeliveryOut(**{k: v for k, v in vars(r).items() if k != "payload"}) for r in rows])


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Unsubscribe (pending deliveries are dropped)",
    responses={404: {"model": ErrorOut}},
)
async def delete_webhook(webhook_id: str, request: Request, svc: ServicesDep) -> Response:
    if not await _dispatcher(svc).store.delete_endpoint(_owner(request), webhook_id):
        raise PeercallError("not_found", f"no webhook {webhook_id!r} for this API key")
    return Response(status_code=204)
