"""Python server SDK for peercall's REST API: rooms, join tokens, moderation, recordings,
snapshots, call stats, webhooks — typed, blocking (:class:`PeercallClient`) or asyncio
(:class:`AsyncPeercallClient`), checked against the server's OpenAPI by the test suite.

    from peercall.client import PeercallClient

    with PeercallClient("https://calls.example.com", api_key) as client:
        room = client.create_room(name="Tutorial", max_participants=3)
        link = client.create_token(room.id, "student-42", name="Ada").join_url

See docs/client.md.
"""

from peercall.client._async import AsyncPeercallClient
from peercall.client._sync import PeercallClient
from peercall.client._transport import PeercallAPIError
from peercall.webhooks.signing import WebhookSignatureError
from peercall.webhooks.signing import verify as verify_webhook

__all__ = ["AsyncPeercallClient", "PeercallAPIError", "PeercallClient", "WebhookSignatureError", "verify_webhook"]
