"""Server side of call statistics: ingest the SDKs' ``stats`` frames.

Each accepted frame is re-rated with the server's own copy of the quality model (the
client's level is kept too, as reported), observed in the Prometheus histograms, appended
to the call's timeline and forwarded to the other members as ``peer-stats``. Frames are
rate-limited per session (:meth:`StatsService.gate`); extras are refused with a non-fatal
``stats_rate_limited`` error.
"""

from __future__ import annotations

import logging
import time

from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.observability.metrics import Metrics
from peercall.quality.model import assess
from peercall.quality.wire import Stats
from peercall.rooms.service import RoomService
from peercall.signaling.ratelimit import TokenBucket
from peercall.store.stats import StatsRow, StatsTimeline

log = logging.getLogger(__name__)

RTT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
LOSS_BUCKETS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
MOS_BUCKETS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.3)


class StatsService:
    def __init__(
        self,
        rooms: RoomService,
        timeline: StatsTimeline,
        metrics: Metrics | None = None,
        *,
        rate_per_s: float = 1.0,
        burst: int = 3,
    ) -> None:
        self._rooms = rooms
        self.timeline = timeline
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._metrics = metrics
        if metrics is not None:
            self._reports = metrics.counter("call_quality_reports", "Stats reports received, by level", ("level",))
            self._rtt = metrics.histogram("call_rtt_seconds", "Reported round trip time", buckets=RTT_BUCKETS)
            self._loss = metrics.histogram("call_packet_loss_ratio", "Reported inbound loss", buckets=LOSS_BUCKETS)
            self._mos = metrics.histogram("call_mos", "Audio MOS estimate (server's model)", buckets=MOS_BUCKETS)
            self._refused = metrics.counter("call_stats_refused", "Stats reports refused, by reason", ("reason",))

    def gate(self) -> TokenBucket:
        """A per-session limiter for ``stats`` frames (the SDK sends one every ~2 s)."""
        return TokenBucket(self._rate_per_s, self._burst)

    def refuse(self) -> PeercallError:
        if self._metrics is not None:
            self._refused.labels("rate").inc()
        return PeercallError("stats_rate_limited", "stats frames are limited to one per second; this one was dropped")

    async def ingest(self, room_id: str, member: Member, frame: Stats) -> None:
        sample = frame.sample.model_dump(exclude_none=True)
        rated = assess(sample)
        if self._metrics is not None:
            self._reports.labels(rated.level).inc()
            if frame.sample.rtt_ms is not None:
                self._rtt.observe(frame.sample.rtt_ms / 1000)
            if frame.sample.loss_in is not None:
                self._loss.observe(frame.sample.loss_in)
            if rated.mos is not None:
                self._mos.observe(rated.mos)
        summary = frame.model_dump(exclude={"type"}, exclude_none=True)
        call_id = self._rooms.call_id(room_id)
        if call_id is not None:
            stored = await self.timeline.append(
                StatsRow(
                    call_id=call_id,
                    peer_id=member.peer_id,
                    identity=member.identity,
                    t=time.time(),
                    level=rated.level,
                    mos=None if rated.mos is None else round(rated.mos, 3),
                    reported_level=frame.level,
                    summary=summary,
                )
            )
            if not stored and self._metrics is not None:
                self._refused.labels("timeline_full").inc()
        await self._rooms.hub.broadcast(
            room_id, {"type": "peer-stats", "from": member.peer_id, "summary": summary}, exclude=member.peer_id
        )
