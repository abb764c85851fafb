"""Dashboard security routes: revoke a leaked join link, read the audit log (admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from peercall.api.deps import AdminKey, ApiKey, ServicesDep
from peercall.api.schemas import ErrorOut
from peercall.auth.revocation import Revocations
from peercall.errors import PeercallError

router = APIRouter(prefix="/api", tags=["security"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


class TokenRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(..., min_length=10, max_length=4096, description="The join token (or the link's #token=)")


class TokenRevoked(BaseModel):
    token_id: str
    room_id: str
    identity: str
    revoked_until: int = Field(description="The token's own expiry; the revocation is forgotten after it")


class AuditOut(BaseModel):
    at: float
    actor: str = Field(description="Name of the API key that acted")
    action: str
    target: str
    detail: dict[str, str]


class AuditList(BaseModel):
    entries: list[AuditOut]


@router.post(
    "/tokens/revoke",
    response_model=TokenRevoked,
    dependencies=[ApiKey],
    summary="Revoke a join link (e.g. leaked): it can no longer join or resume",
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def revoke_token(body: TokenRevoke, svc: ServicesDep) -> TokenRevoked:
    try:
        claims = svc.tokens.verify(body.token)
    except PeercallError as error:  # expired needs no revocation; forged cannot be revoked
        raise PeercallError("token_not_revocable", f"cannot revoke: {error.message}") from None
    await Revocations(svc.store).revoke_token(claims.token_id, claims.expires_at)
    return TokenRevoked(
        token_id=claims.token_id, room_id=claims.room_id, identity=claims.identity, revoked_until=claims.expires_at
    )


@router.get("/audit", response_model=AuditList, dependencies=[AdminKey], summary="Dashboard actions, newest first")
async def audit(svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditList:
    entries = await svc.store.list_audit(limit=limit)
    return AuditList(entries=[AuditOut(**vars(e)) for e in entries])
