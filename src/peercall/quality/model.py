"""The call-quality model: one stats sample in, a level and its causes out.

A line-by-line twin of ``web/sdk/quality.js`` (the browser decides alerts with it; the
server recomputes levels and MOS with this one for the call summary and the Prometheus
histograms, so a buggy or lying client cannot skew them). Tests feed both the same
recorded Chromium samples and require identical answers. Formulas and the reasons for the
thresholds: docs/quality.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["excellent", "good", "poor", "lost"]

MOS_EXCELLENT = 4.0
MOS_GOOD = 3.5
LOSS_BPL = 20
CODEC_DELAY_MS = 20
JITTER_CAUSE_MS = 50
FPS_POOR = 8
FPS_GOOD = 15
HEIGHT_GOOD = 240
FREEZE_POOR = 0.3
FREEZE_GOOD = 0.05
SEND_KBPS_POOR = 150
# A bandwidth estimate this high carries a talking head: an encoder still starved under it is
# ramping up (libwebrtc reports its start-up downscaling as "bandwidth"), not held back by the uplink.
ESTIMATE_AMPLE_KBPS = 500

LEVELS: tuple[Level, ...] = ("lost", "poor", "good", "excellent")  # worst first


@dataclass(frozen=True)
class DirectionQuality:
    level: Level
    mos: float | None
    causes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    level: Level
    mos: float | None
    causes: list[str]
    recv: DirectionQuality
    send: DirectionQuality


def worse(a: Level, b: Level) -> Level:
    return a if LEVELS.index(a) <= LEVELS.index(b) else b


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def r_to_mos(r: float) -> float:
    """R factor → MOS (ITU-T G.107 Annex B)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6


def _delay_impairment(delay: float) -> float:
    return delay / 40 if delay < 160 else (delay - 120) / 10


def emodel(rtt_ms: float | None, jitter_ms: float | None, loss: float | None) -> tuple[float, list[str]]:
    """Simplified E-model: the MOS, and which impairment alone would drop it below good."""
    delay = (rtt_ms or 0) / 2 + 2 * (jitter_ms or 0) + CODEC_DELAY_MS
    id_ = _delay_impairment(delay)
    ppl = min(max(loss or 0, 0), 1) * 100
    ie = (95 * ppl) / (ppl + LOSS_BPL)
    mos = r_to_mos(93.2 - id_ - ie)
    causes: list[str] = []
    if mos < MOS_GOOD:
        if r_to_mos(93.2 - ie) < MOS_GOOD or ie >= id_:
            causes.append("loss")
        if r_to_mos(93.2 - _delay_impairment((rtt_ms or 0) / 2 + CODEC_DELAY_MS)) < MOS_GOOD:
            causes.append("latency")
        if (jitter_ms or 0) >= JITTER_CAUSE_MS:
            causes.append("jitter")
        if not causes:
            causes.append("latency" if id_ > ie else "loss")
    return mos, causes


def mos_level(mos: float) -> Level:
    return "excellent" if mos >= MOS_EXCELLENT else "good" if mos >= MOS_GOOD else "poor"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def assess_recv(s: Mapping[str, Any]) -> DirectionQuality:
    """What we receive: audio E-model on measured loss and jitter, video frame rate and freezes."""
    if _num(s.get("packets_in")) == 0:
        return DirectionQuality("lost", None, ["no_media"])
    mos, audio_causes = emodel(_num(s.get("rtt_ms")), _num(s.get("jitter_ms")), _num(s.get("loss_in")))
    level = mos_level(mos)
    causes = list(audio_causes)
    fps = _num(s.get("fps_in"))
    if fps is not None:
        frozen = _num(s.get("freeze_in")) or 0
        height = _num(s.get("height_in"))
        video: Level = "excellent"
        if frozen >= FREEZE_POOR or fps < FPS_POOR:
            video = "poor"
        elif frozen >= FREEZE_GOOD or fps < FPS_GOOD or (HEIGHT_GOOD if height is None else height) < HEIGHT_GOOD:
            video = "good"
        if video == "poor":
            causes.append("freeze" if frozen >= FREEZE_POOR else "framerate")
        level = worse(level, video)
    return DirectionQuality(level, mos, _dedupe(causes) if level == "poor" else [])


def assess_send(s: Mapping[str, Any]) -> DirectionQuality:
    """What we send: E-model on the loss the other side reports, video held back by bandwidth or CPU."""
    loss_out = _num(s.get("loss_out"))
    audio = None if loss_out is None else emodel(_num(s.get("rtt_ms")), _num(s.get("jitter_out_ms")), loss_out)
    level: Level = mos_level(audio[0]) if audio else "excellent"
    causes = list(audio[1]) if audio else []
    limitation = s.get("limitation")
    if limitation in ("bandwidth", "cpu") and _num(s.get("fps_out")) is not None:
        starved = (
            (_num(s.get("fps_out")) or 0) < FPS_POOR
            or (_num(s.get("height_out")) or 0) < HEIGHT_GOOD / 2
            or (_num(s.get("kbps_out")) or 0) < SEND_KBPS_POOR
        ) and not (limitation == "bandwidth" and (_num(s.get("avail_out_kbps")) or 0) >= ESTIMATE_AMPLE_KBPS)
        if starved:
            causes.append(str(limitation))
        level = worse(level, "poor" if starved else "good")
    return DirectionQuality(level, audio[0] if audio else None, _dedupe(causes) if level == "poor" else [])


def assess(sample: Mapping[str, Any]) -> Assessment:
    """The model: one sample (the SDK's ``StatsSample``, snake_case fields) in, one assessment out."""
    recv, send = assess_recv(sample), assess_send(sample)
    moses = [m for m in (recv.mos, send.mos) if m is not None]
    return Assessment(
        level=worse(recv.level, send.level),
        mos=min(moses) if moses else None,
        causes=_dedupe([*recv.causes, *send.causes]),
        recv=recv,
        send=send,
    )
