"""Synthetic monitoring: the ``turn test`` probe on a schedule, exported as Prometheus metrics.

A broken TURN transport fails calls only for users behind strict firewalls, so nobody
notices until they complain; probing each configured region every few minutes and
alerting on ``peercall_turn_check_up == 0`` or ``peercall_turn_dangerous > 0`` finds it
first. Each run makes fresh credentials from the region's secret (as clients get them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from peercall.observability.metrics import Metrics
from peercall.turn.ice_servers import IceServerProvider, TurnRegion, turn_credentials
from peercall.turn.probe import ProbeOptions, run_probe, wrong_password
from peercall.turn.report import ProbeReport
from peercall.turn.urls import expand

if TYPE_CHECKING:
    from peercall.config import Settings

log = logging.getLogger(__name__)
_CHECK = ("region", "url", "transport")


class TurnMonitor:
    def __init__(
        self,
        regions: list[TurnRegion],
        metrics: Metrics,
        *,
        interval_s: float,
        timeout_s: float = 5.0,
        bind: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.regions = regions
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.bind = bind
        self.ca_file = ca_file
        self.last: dict[str, ProbeReport] = {}
        self._task: asyncio.Task[None] | None = None
        self._up = metrics.gauge("turn_check_up", "1 if the last probe of this TURN transport worked", _CHECK)
        self._allocate = metrics.gauge("turn_check_allocate_seconds", "Time to a TURN allocation", _CHECK)
        self._rtt = metrics.gauge("turn_check_rtt_seconds", "Round trip through the relay (or STUN)", _CHECK)
        self._failures = metrics.counter("turn_check_failures", "Failed probes by reason code", (*_CHECK, "reason"))
        self._dangerous = metrics.gauge(
            "turn_dangerous",
            "Negative probes the server accepted (relay to a forbidden address, wrong secret)",
            ("region",),
        )
        self._last_run = metrics.gauge("turn_probe_last_run_timestamp_seconds", "End of the last probe", ("region",))
        self._duration = metrics.gauge("turn_probe_duration_seconds", "Wall time of the last probe", ("region",))

    @classmethod
    def from_settings(cls, settings: Settings, ice: IceServerProvider, metrics: Metrics) -> TurnMonitor:
        return cls(
            ice.regions,
            metrics,
            interval_s=settings.turn_monitor_interval,
            timeout_s=settings.turn_monitor_timeout,
            bind=settings.turn_monitor_bind,
            ca_file=settings.turn_monitor_ca,
        )

    async def probe_region(self, region: TurnRegion) -> ProbeReport:
        username, password = turn_credentials(region.secret, "peercall-monitor", 300)
        options = ProbeOptions(
            username=username,
            password=password,
            wrong_password=wrong_password(),
            ca_file=self.ca_file,
            bind=self.bind,
            timeout_s=self.timeout_s,
        )
        report = await run_probe(expand(list(region.urls)), options)
        self._export(region.name, report)
        self.last[region.name] = report
        return report

    def _export(self, region: str, report: ProbeReport) -> None:
        for check in report.checks:
            labels = (region, check.url, check.transport)
            self._up.labels(*labels).set(1 if check.ok else 0)
            if check.allocate_ms is not None:
                self._allocate.labels(*labels).set(check.allocate_ms / 1000)
            if check.rtt_ms is not None:
                self._rtt.labels(*labels).set(check.rtt_ms / 1000)
            if not check.ok:
                self._failures.labels(*labels, check.reason_code or "error").inc()
                log.warning("TURN probe failed", extra={"region": region, "url": check.url, "reason": check.reason})
        self._dangerous.labels(region).set(len(report.dangerous))
        for finding in report.dangerous:
            log.error("TURN server is dangerous", extra={"region": region, "target": finding.target})
        self._last_run.labels(region).set(time.time())
        self._duration.labels(region).set(report.wall_ms / 1000)

    async def run_once(self) -> list[ProbeReport]:
        return list(await asyncio.gather(*(self.probe_region(r) for r in self.regions)))

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # keep monitoring; the failure is in the log
                log.exception("TURN probe crashed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None and self.regions and self.interval_s > 0:
            self._task = asyncio.create_task(self._loop(), name="turn-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
