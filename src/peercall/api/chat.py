"""Dashboard route for the chat archive of a room (rooms created with ``chat_archive``)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from peercall.api.deps import ApiKey, ServicesDep
from peercall.api.schemas import ErrorOut
from peercall.collab import collab_settings
from peercall.errors import PeercallError

router = APIRouter(prefix="/api/rooms", tags=["chat"], dependencies=[ApiKey], responses={401: {"model": ErrorOut}})


class ChatMessageOut(BaseModel):
    id: str
    call_id: str | None
    identity: str
    name: str
    sent_at: float
    """The sender's clock (seconds since the epoch)."""
    received_at: float
    """When the server stored it."""
    text: str


class ChatTranscript(BaseModel):
    room_id: str
    chat_archive: bool
    messages: list[ChatMessageOut]


@router.get(
    "/{room_id}/chat",
    response_model=ChatTranscript,
    summary="Chat transcript of a room (only rooms with the chat_archive setting keep one)",
    responses={404: {"model": ErrorOut}},
)
async def chat_transcript(room_id: str, svc: ServicesDep, limit: int = Query(1000, ge=1, le=10_000)) -> ChatTranscript:
    room = await svc.store.get_room(room_id)
    if room is None:
        raise PeercallError("room_not_found", f"room {room_id!r} does not exist")
    records = await svc.store.list_chat_messages(room_id, limit=limit)
    return ChatTranscript(
        room_id=room_id,
        chat_archive=collab_settings(room.settings).chat_archive,
        messages=[
            ChatMessageOut(
                id=r.message_id,
                call_id=r.call_id,
                identity=r.identity,
                name=r.name,
                sent_at=r.sent_at,
                received_at=r.received_at,
                text=r.text,
            )
            for r in records
        ],
    )
