"""Why a STUN/TURN check failed: a stable code (for scripts and metrics) and a sentence."""

from __future__ import annotations

from typing import Literal

ReasonCode = Literal[
    "dns",
    "connection_refused",
    "timeout",
    "tls_certificate",
    "tls_name",
    "tls_handshake",
    "auth_rejected",
    "allocation_refused",
    "relay_address_private",
    "peer_refused",
    "relay_blocked",
    "error",
]
REASON_CODES: tuple[ReasonCode, ...] = ReasonCode.__args__  # type: ignore[attr-defined]


class ProbeFailure(Exception):
    """A check failed for a known reason; ``message`` says what to fix."""

    def __init__(self, code: ReasonCode, message: str) -> None:
        super().__init__(message)
        self.code: ReasonCode = code
        self.message = message


STUN_ERRORS = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    437: "allocation mismatch",
    438: "stale nonce",
    440: "address family not supported",
    441: "wrong credentials",
    442: "unsupported transport protocol",
    443: "peer address family mismatch",
    486: "allocation quota reached",
    508: "insufficient capacity",
}
