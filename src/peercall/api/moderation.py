"""Dashboard moderation: the same controls a host has in the call, over REST (API key)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from peercall.api.deps import ApiKey, ServicesDep
from peercall.api.schemas import ErrorOut, PeerOut
from peercall.rooms.moderation import Action, Moderator

router = APIRouter(
    prefix="/api/rooms", tags=["moderation"], dependencies=[ApiKey], responses={401: {"model": ErrorOut}}
)


class ModerationOut(BaseModel):
    action: str
    participant: PeerOut


@router.post(
    "/{room_id}/participants/{identity}/{action}",
    response_model=ModerationOut,
    summary="Moderate a participant: mute_audio, disable_video, stop_screen, remove, ask_unmute, ask_video "
    "(unmute_audio / enable_video only with the room setting allow_host_unmute)",
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
async def moderate(room_id: str, identity: str, action: Action, svc: ServicesDep) -> ModerationOut:
    target = await Moderator(svc.rooms).act_on_identity(room_id, identity, action)
    return ModerationOut(action=action, participant=PeerOut(**target.public(), joined_at=target.joined_at))
