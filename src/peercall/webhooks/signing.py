"""Webhook signatures: ``Peercall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC covers ``f"{t}.{body}"``, so a captured delivery cannot be replayed later with a
new timestamp (the receiver refuses a ``t`` outside its tolerance) nor its body altered.
Same scheme as Stripe's, which receivers' developers already know. ``v1`` may repeat
(while a secret is rotated, one delivery carries a signature per secret).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Peercall-Signature"
EVENT_HEADER = "Peercall-Event"
EVENT_ID_HEADER = "Peercall-Event-Id"
DEFAULT_TOLERANCE_S = 300


class WebhookSignatureError(ValueError):
    """The delivery is not from peercall, was altered, or is too old (a replay)."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Peercall-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(secret, t, body)}"


def verify(
    body: bytes, header: str | None, secret: str, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None
) -> int:
    """Check a delivery; returns its timestamp. Raises :class:`WebhookSignatureError`.

    ``body`` must be the raw request body, byte for byte (not re-serialised JSON).
    """
    if not header:
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError(f"malformed {SIGNATURE_HEADER} header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError(f"timestamp outside the {tolerance_s} s tolerance (a replay?)")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookSignatureError("signature does not match (wrong secret or altered body)")
    return timestamp
