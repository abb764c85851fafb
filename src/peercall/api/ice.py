"""Client route: the ICE server list (STUN/TURN with fresh credentials)."""

from __future__ import annotations

from fastapi import APIRouter

from peercall.api.deps import JoinToken, ServicesDep
from peercall.api.schemas import ErrorOut, IceServersOut

router = APIRouter(tags=["client"])


@router.get(
    "/api/ice-servers",
    response_model=IceServersOut,
    summary="ICE servers for RTCPeerConnection (join token as bearer)",
    responses={401: {"model": ErrorOut}},
)
async def ice_servers(claims: JoinToken, svc: ServicesDep) -> IceServersOut:
    return IceServersOut(ice_servers=svc.ice.for_identity(claims.identity), ttl=svc.ice.ttl_s)
