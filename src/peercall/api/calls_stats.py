"""``GET /api/calls/{call_id}/stats``: a call's quality timeline and per-participant summary,
for support teams (API key required)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from peercall.api.deps import ApiKey, ServicesDep
from peercall.api.schemas import ErrorOut
from peercall.errors import PeercallError
from peercall.quality.summary import summarize

router = APIRouter(prefix="/api/calls", tags=["calls"], dependencies=[ApiKey], responses={401: {"model": ErrorOut}})


class StatsPoint(BaseModel):
    t: float
    peer_id: str
    identity: str
    level: str  # the server's model
    reported_level: str  # what the participant's SDK said
    mos: float | None
    summary: dict[str, Any]


class CallStatsOut(BaseModel):
    call_id: str
    room_id: str
    started_at: float
    ended_at: float | None
    truncated: bool  # the timeline reached its row cap; later reports were not stored
    summary: list[dict[str, Any]]
    timeline: list[StatsPoint]


@router.get(
    "/{call_id}/stats",
    response_model=CallStatsOut,
    summary="Quality timeline of a call and a summary per participant (averages, p95, time in each level)",
    responses={404: {"model": ErrorOut}},
)
async def call_stats(call_id: str, svc: ServicesDep) -> CallStatsOut:
    call = await svc.store.get_call(call_id)
    if call is None or svc.stats is None:
        raise PeercallError("not_found", f"no call {call_id!r}")
    rows = await svc.stats.timeline.rows(call_id)
    return CallStatsOut(
        call_id=call.id,
        room_id=call.room_id,
        started_at=call.started_at,
        ended_at=call.ended_at,
        truncated=len(rows) >= svc.stats.timeline.max_rows_per_call,
        summary=summarize(rows),
        timeline=[
            StatsPoint(
                t=r.t,
                peer_id=r.peer_id,
                identity=r.identity,
                level=r.level,
                reported_level=r.reported_level,
                mos=r.mos,
                summary=r.summary,
            )
            for r in rows
        ],
    )
