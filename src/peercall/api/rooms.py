"""Dashboard routes: rooms, join tokens, call history (API key required)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response

from peercall.api.deps import ApiKey, ServicesDep
from peercall.api.schemas import (
    CallList,
    CallOut,
    ErrorOut,
    PeerOut,
    ReconnectList,
    ReconnectOut,
    RoomCreate,
    RoomList,
    RoomOut,
    TokenCreate,
    TokenOut,
)
from peercall.api.urls import base_url
from peercall.errors import PeercallError
from peercall.store.base import RoomRecord

router = APIRouter(prefix="/api/rooms", tags=["rooms"], dependencies=[ApiKey], responses={401: {"model": ErrorOut}})


async def _room_out(svc: ServicesDep, room: RoomRecord) -> RoomOut:
    members = await svc.hub.members(room.id)
    call = await svc.rooms.live_call(room.id) if members else None
    return RoomOut(
        id=room.id,
        name=room.name,
        max_participants=room.max_participants,
        settings=room.settings,
        created_at=room.created_at,
        call_id=call.id if call else None,
        participants=[PeerOut(**m.public(), joined_at=m.joined_at) for m in members],
    )


@router.post("", status_code=201, response_model=RoomOut, summary="Create a room")
async def create_room(svc: ServicesDep, body: RoomCreate | None = None) -> RoomOut:
    body = body or RoomCreate()
    cap = svc.settings.max_participants_cap
    if body.max_participants > cap:
        raise PeercallError("bad_request", f"max_participants must be between 2 and {cap}")
    room = await svc.rooms.create_room(body.name, body.max_participants, body.settings)
    return await _room_out(svc, room)


@router.get("", response_model=RoomList, summary="List rooms")
async def list_rooms(svc: ServicesDep) -> RoomList:
    return RoomList(rooms=[await _room_out(svc, room) for room in await svc.store.list_rooms()])


@router.get(
    "/{room_id}",
    response_model=RoomOut,
    summary="A room with its live participants",
    responses={404: {"model": ErrorOut}},
)
async def get_room(room_id: str, svc: ServicesDep) -> RoomOut:
    return await _room_out(svc, await svc.rooms.get_live_room(room_id))


@router.delete(
    "/{room_id}", status_code=204, summary="End the call and delete the room", responses={404: {"model": ErrorOut}}
)
async def delete_room(room_id: str, svc: ServicesDep) -> Response:
    await svc.rooms.end_room(room_id)
    return Response(status_code=204)


@router.post(
    "/{room_id}/tokens",
    status_code=201,
    response_model=TokenOut,
    summary="Issue a join token and link",
    responses={404: {"model": ErrorOut}},
)
async def create_token(room_id: str, body: TokenCreate, request: Request, svc: ServicesDep) -> TokenOut:
    await svc.rooms.get_live_room(room_id)
    settings = svc.settings
    ttl = min(body.ttl or settings.token_default_ttl, settings.token_max_ttl)
    token, claims = svc.tokens.issue(room_id, body.identity, body.name or body.identity, body.role, ttl)
    join_url = f"{base_url(request, settings.public_url)}/call#token={token}"
    return TokenOut(
        token=token, join_url=join_url, expires_at=claims.expires_at, identity=claims.identity, role=claims.role
    )


@router.get(
    "/{room_id}/calls",
    response_model=CallList,
    summary="Call sessions of a room, newest first",
    responses={404: {"model": ErrorOut}},
)
async def list_calls(room_id: str, svc: ServicesDep) -> CallList:
    room = await svc.store.get_room(room_id)
    if room is None:
        raise PeercallError("room_not_found", f"room {room_id!r} does not exist")
    calls = await svc.store.list_calls(room_id)
    return CallList(calls=[CallOut(**asdict(call)) for call in calls])


@router.get(
    "/{room_id}/calls/{call_id}/reconnects",
    response_model=ReconnectList,
    summary="Reconnect timeline of a call: cause, steps tried, time to recover",
    responses={404: {"model": ErrorOut}},
)
async def list_reconnects(room_id: str, call_id: str, svc: ServicesDep) -> ReconnectList:
    call = await svc.store.get_call(call_id)
    if call is None or call.room_id != room_id:
        raise PeercallError("not_found", f"call {call_id!r} is not a call of room {room_id!r}")
    records = await svc.store.list_reconnects(call_id)
    return ReconnectList(
        call_id=call_id,
        reconnects=[
            ReconnectOut(
                peer_id=r.peer_id,
                identity=r.identity,
                kind=r.kind,
                cause=r.cause,
                started_at=r.started_at,
                ended_at=r.ended_at,
                duration_ms=r.duration_ms,
                outcome=r.outcome,
                steps=r.steps,
            )
            for r in records
        ],
    )
