"""The ``stats`` signaling frame: one side's quality summary, every ~2 s (docs/protocol.md).

Every field is bounded (numbers by range, lists by length, strings by enumeration), so a
frame that validates is at most ~1.5 KB and safe to store and forward as is.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["excellent", "good", "poor", "lost"]
Cause = Literal["loss", "latency", "jitter", "bandwidth", "cpu", "freeze", "framerate", "no_media"]
Causes = Annotated[list[Cause], Field(max_length=8)]

Ms = Annotated[float, Field(ge=0, le=600_000)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Kbps = Annotated[float, Field(ge=0, le=10_000_000)]
Fps = Annotated[float, Field(ge=0, le=1000)]
Pixels = Annotated[int, Field(ge=0, le=16_384)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CandidatePair(_Strict):
    """The selected ICE candidate pair: direct (host/srflx/prflx) or through a TURN relay."""

    local: Literal["host", "srflx", "prflx", "relay"] | None = None
    remote: Literal["host", "srflx", "prflx", "relay"] | None = None
    protocol: Literal["udp", "tcp"] | None = None
    relay_protocol: Literal["udp", "tcp", "tls"] | None = None


class StatsFigures(_Strict):
    """The figures of the latest one-second sample (SDK ``StatsSample``; null/absent = not measured)."""

    rtt_ms: Ms | None = None
    jitter_ms: Ms | None = None
    jitter_out_ms: Ms | None = None
    loss_in: Fraction | None = None
    loss_out: Fraction | None = None
    packets_in: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    kbps_in: Kbps | None = None
    kbps_out: Kbps | None = None
    avail_out_kbps: Kbps | None = None
    fps_in: Fps | None = None
    fps_out: Fps | None = None
    width_in: Pixels | None = None
    height_in: Pixels | None = None
    width_out: Pixels | None = None
    height_out: Pixels | None = None
    freeze_in: Fraction | None = None
    limitation: Literal["none", "cpu", "bandwidth", "other"] | None = None
    pair: CandidatePair | None = None


class Stats(_Strict):
    """One side's quality summary; stored in the call timeline, forwarded as ``peer-stats``."""

    type: Literal["stats"]
    level: Level
    mos: Annotated[float, Field(ge=1, le=5)] | None = None
    causes: Causes = []
    recv_level: Level
    send_level: Level
    recv_causes: Causes = []
    send_causes: Causes = []
    access: Literal["ok", "unstable", "unknown"] = "unknown"
    sample: StatsFigures
