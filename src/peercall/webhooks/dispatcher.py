"""Sends queued webhook deliveries: signed, retried with backoff, never twice after a 2xx.

``publish()`` stores the event (one row per subscribed endpoint, see store.py) and wakes
the sender loop; the loop claims due rows, POSTs them (bounded concurrency, a timeout per
attempt, redirects not followed), and records the outcome: ``delivered`` on 2xx, else
another attempt after an exponential, jittered delay until ``max_attempts`` → ``failed``.
A server restarted mid-way finds its pending rows and carries on; every retry carries the
same ``Peercall-Event-Id`` so a receiver can deduplicate a delivery whose 2xx was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

import peercall
from peercall.errors import PeercallError
from peercall.webhooks.events import EventType
from peercall.webhooks.signing import EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from peercall.webhooks.ssrf import check_destination
from peercall.webhooks.store import Delivery, Endpoint, WebhookStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchPolicy:
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 600.0
    timeout_s: float = 10.0
    concurrency: int = 8
    allow_http: bool = False
    allow_private: bool = False
    poll_s: float = 5.0  # also picks up retries that fell due and other nodes' expired leases

    def delay(self, attempts: int) -> float:
        """Wait before attempt ``attempts + 1``: exponential with full jitter (AWS's advice)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)


class WebhookDispatcher:
    """The server's :class:`~peercall.webhooks.events.EventSink` when webhooks are on."""

    def __init__(self, store: WebhookStore, policy: DispatchPolicy) -> None:
        self.store = store
        self.policy = policy
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def publish(self, event: EventType, data: dict[str, Any]) -> None:
        event_id = f"evt_{secrets.token_urlsafe(12)}"
        payload = json.dumps(
            {"id": event_id, "type": event, "created_at": time.time(), "data": data}, separators=(",", ":")
        )
        if await self.store.enqueue(event, event_id, payload):
            self._wake.set()

    async def wants(self, event: EventType) -> bool:
        return any(event in endpoint.events for endpoint in await self.store.subscribers())

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self.policy.timeout_s,
            follow_redirects=False,  # a redirect could point anywhere, past the SSRF check
            headers={"User-Agent": f"peercall-webhooks/{peercall.__version__}"},
        )
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before claiming: an event published meanwhile wakes the next wait
            try:
                batch = await self.store.claim_due(limit=self.policy.concurrency * 4, lease_s=self._lease_s())
                if batch:
                    await asyncio.gather(*(self._send(d, e) for d, e in batch))
                    continue  # more may be due
            except Exception:  # the database may be briefly away; try again on the next tick
                log.exception("webhook dispatch round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.policy.poll_s)

    def _lease_s(self) -> float:
        return self.policy.timeout_s * 3 + 5

    async def _send(self, delivery: Delivery, endpoint: Endpoint) -> None:
        async with self._slots:
            attempts = delivery.attempts + 1
            status: int | None = None
            error: str | None = None
            try:
                await check_destination(
                    endpoint.url, allow_http=self.policy.allow_http, allow_private=self.policy.allow_private
                )
                body = delivery.payload.encode()
                assert self._client is not None
                # One deadline for the whole attempt: httpx's timeout is per read, so a
                # receiver trickling bytes could otherwise hold a slot for ever.
                response = await asyncio.wait_for(
                    self._client.post(
                        endpoint.url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            SIGNATURE_HEADER: sign(body, endpoint.secret),
                            EVENT_HEADER: delivery.event,
                            EVENT_ID_HEADER: delivery.event_id,
                        },
                    ),
                    self.policy.timeout_s,
                )
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except PeercallError as refused:
                error = refused.message
            except httpx.HTTPError as failed:
                error = f"{type(failed).__name__}: {failed}"[:300]
            except TimeoutError:
                error = f"no answer within {self.policy.timeout_s:g} s"
            if error is None:
                outcome, next_at = "delivered", time.time()
            elif attempts >= self.policy.max_attempts:
                outcome, next_at = "failed", time.time()
                log.warning("webhook %s to %s failed for good: %s", delivery.event, endpoint.url, error)
            else:
                outcome, next_at = "pending", time.time() + self.policy.delay(attempts)
            await self.store.record_attempt(
                delivery,
                status=outcome,
                attempts=attempts,
                response_status=status,
                error=error,
                next_attempt_at=next_at,
            )
            if outcome == "pending":
                asyncio.get_running_loop().call_later(next_at - time.time() + 0.05, self._wake.set)
