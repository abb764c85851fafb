"""Results of ``peercall turn test``: one :class:`Check` per URL, negative-probe findings,
JSON for scripts and a table for people."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from peercall.turn.failures import ReasonCode
from peercall.turn.tls import TlsInfo
from peercall.turn.urls import CheckTransport

Outcome = Literal["refused", "relayed", "inconclusive"]


@dataclass
class Check:
    """One transport of one server: works, or fails with ``reason``."""

    transport: CheckTransport
    url: str
    ok: bool = False
    reason: str | None = None
    reason_code: ReasonCode | None = None
    connect_ms: float | None = None
    allocate_ms: float | None = None
    rtt_ms: float | None = None
    mapped_address: str | None = None
    relayed_address: str | None = None
    tls: TlsInfo | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class NegativeProbe:
    """Something the server must refuse: a relay towards ``target``, or a wrong secret."""

    probe: Literal["relay", "auth"]
    server: str
    target: str
    outcome: Outcome
    detail: str


@dataclass
class Credential:
    username: str
    expires_at: int | None

    @property
    def expires_in_s(self) -> int | None:
        return None if self.expires_at is None else self.expires_at - int(time.time())


@dataclass
class ProbeReport:
    checks: list[Check]
    negative: list[NegativeProbe]
    credential: Credential | None
    wall_ms: float = 0.0

    @property
    def dangerous(self) -> list[NegativeProbe]:
        return [n for n in self.negative if n.outcome == "relayed"]

    @property
    def ok(self) -> bool:
        """Exit status 0: every requested transport works and nothing is dangerous."""
        return bool(self.checks) and all(c.ok for c in self.checks) and not self.dangerous

    def to_dict(self) -> dict[str, Any]:
        credential = None
        if self.credential is not None:
            credential = {**asdict(self.credential), "expires_in_s": self.credential.expires_in_s}
        return {
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
            "dangerous": [asdict(n) for n in self.dangerous],
            "negative_probes": [asdict(n) for n in self.negative],
            "credential": credential,
            "wall_ms": self.wall_ms,
        }


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def render(report: ProbeReport, console: Console) -> None:
    """Human output: the checks, then the negative probes, then a verdict."""
    table = Table(title="TURN server checks", title_justify="left")
    for column in ("transport", "url", "result", "connect ms", "allocate ms", "rtt ms", "relayed via"):
        table.add_column(column, justify="right" if column.endswith("ms") else "left")
    for check in report.checks:
        result = "[green]works[/]" if check.ok else f"[red]fails[/]: {check.reason}"
        table.add_row(
            check.transport,
            check.url,
            result,
            _ms(check.connect_ms),
            _ms(check.allocate_ms),
            _ms(check.rtt_ms),
            check.relayed_address or "–",
        )
    console.print(table)
    for check in report.checks:
        if check.tls is not None and check.tls.subject:
            tls = check.tls
            console.print(
                f"TLS {check.url}: {tls.version}, certificate {tls.subject} for {', '.join(tls.names) or '–'}"
                f" (SNI {tls.sni}), issuer {tls.issuer}, valid until {tls.not_after} ({tls.days_left} days)"
            )
        for warning in check.warnings:
            console.print(f"[yellow]warning[/] {check.url}: {warning}")
    if report.negative:
        negative = Table(title="Negative probes (must be refused)", title_justify="left")
        for column in ("probe", "server", "target", "outcome", "detail"):
            negative.add_column(column)
        colours = {"refused": "green", "relayed": "bold red", "inconclusive": "yellow"}
        for probe in report.negative:
            outcome = "DANGEROUS: accepted" if probe.outcome == "relayed" else probe.outcome
            negative.add_row(
                probe.probe, probe.server, probe.target, f"[{colours[probe.outcome]}]{outcome}[/]", probe.detail
            )
        console.print(negative)
    if report.credential is not None and report.credential.expires_at is not None:
        console.print(f"credentials {report.credential.username}: expire in {report.credential.expires_in_s} s")
    verdict = "[green]all checks passed[/]" if report.ok else "[red]TURN test failed[/]"
    console.print(f"{verdict} in {report.wall_ms / 1000:.2f} s")
