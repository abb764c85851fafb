"""One error root with stable codes.

Every failure a client can see is a :class:`PeercallError` carrying a stable ``code``.
This module is the single place that maps a code to an HTTP status, a WebSocket
close code and whether the signaling connection must be closed::

    PeercallError
     └── raised with a code from ERRORS (the table below)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    """How one error code surfaces on each transport."""

    http_status: int
    fatal: bool  # the signaling connection is closed after the error frame
    close_code: int | None = None  # WebSocket close code when fatal


ERRORS: dict[str, ErrorKind] = {
    "bad_json": ErrorKind(400, False),
    "bad_message": ErrorKind(422, False),
    "bad_request": ErrorKind(422, False),
    "unknown_type": ErrorKind(400, False),
    "message_too_large": ErrorKind(413, True, 4009),
    "rate_limited": ErrorKind(429, False),
    "rate_limit_abuse": ErrorKind(429, True, 4029),
    "stats_rate_limited": ErrorKind(429, False),
    "unsupported_version": ErrorKind(400, True, 4005),
    "not_joined": ErrorKind(409, False),
    "already_joined": ErrorKind(409, False),
    "join_timeout": ErrorKind(408, True, 4008),
    "idle_timeout": ErrorKind(408, True, 4008),
    "token_missing": ErrorKind(401, True, 4001),
    "token_invalid": ErrorKind(401, True, 4001),
    "token_expired": ErrorKind(401, True, 4001),
    "unauthorized": ErrorKind(401, True, 4001),
    "room_not_found": ErrorKind(404, True, 4004),
    "room_full": ErrorKind(409, True, 4003),
    "peer_not_found": ErrorKind(404, False),
    "participant_not_found": ErrorKind(404, False),
    "forbidden": ErrorKind(403, False),
    "removed": ErrorKind(403, True, 4014),
    "origin_forbidden": ErrorKind(403, True, 4403),
    "session_replaced": ErrorKind(409, True, 4010),
    "resume_failed": ErrorKind(409, True, 4011),
    "session_expired": ErrorKind(410, True, 4012),
    "slow_consumer": ErrorKind(503, True, 4013),
    # The node lost its hub (Redis) for a moment: resume (on this node or another).
    "hub_unavailable": ErrorKind(503, True, 4017),
    "payload_too_large": ErrorKind(413, False),
    "invalid_image": ErrorKind(415, False),
    "not_found": ErrorKind(404, False),
    "demo_disabled": ErrorKind(404, False),
    "recording_closed": ErrorKind(409, False),
    "recording_not_ready": ErrorKind(409, False),
    "chunk_out_of_order": ErrorKind(409, False),
    "chunk_conflict": ErrorKind(409, False),
    "chunks_missing": ErrorKind(409, False),
    "checksum_mismatch": ErrorKind(422, False),
    "unsupported_media": ErrorKind(415, False),
    "link_expired": ErrorKind(401, False),  # no valid credentials: like a missing API key
    "internal": ErrorKind(500, True, 4500),
    "token_revoked": ErrorKind(401, True, 4001),
    "too_many_connections": ErrorKind(429, True, 4029),
    "server_busy": ErrorKind(503, True, 4503),
    # The node is shutting down (SIGTERM): connect again, the balancer sends you elsewhere.
    "draining": ErrorKind(503, True, 4015),
    # A later resume attempt of the same client took the session over (this one was abandoned).
    "resume_superseded": ErrorKind(409, True, 4016),
    "token_not_revocable": ErrorKind(409, False),
    "media_failed": ErrorKind(422, False),
    "invalid_webhook_url": ErrorKind(422, False),
    "webhook_url_forbidden": ErrorKind(403, False),
    "too_many_webhooks": ErrorKind(409, False),
}


class PeercallError(Exception):
    """A failure with a stable, documented code (see docs/protocol.md)."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERRORS:
            raise ValueError(f"undocumented error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def kind(self) -> ErrorKind:
        return ERRORS[self.code]

    def to_frame(self, ref: str | None = None) -> dict[str, object]:
        """The signaling ``error`` frame for this error."""
        frame: dict[str, object] = {
            "type": "error",
            "code": self.code,
            "message": self.message,
            "fatal": self.kind.fatal,
        }
        if ref:
            frame["ref"] = ref
        return frame

    def to_http_body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}
