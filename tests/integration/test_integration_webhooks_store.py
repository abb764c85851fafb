"""The webhook outbox on SQLite and PostgreSQL: two nodes never take the same delivery, a
lapsed lease is taken over and the old owner's late answer is ignored, a receiver that
keeps failing ends ``failed`` after the last attempt."""

from __future__ import annotations

import asyncio
import time

from peercall.store import SqlStore, open_store
from peercall.testing.webhook_receiver import WebhookReceiver
from peercall.webhooks.dispatcher import DispatchPolicy, WebhookDispatcher
from peercall.webhooks.store import SUBSCRIBERS_TTL_S, WebhookStore


async def _stores(database_url: str, count: int) -> list[SqlStore]:
    stores = [await open_store(database_url) for _ in range(count)]
    assert all(isinstance(s, SqlStore) for s in stores)
    return [s for s in stores if isinstance(s, SqlStore)]


async def test_integration_webhooks_store_two_nodes_claim_each_delivery_once(database_url: str) -> None:
    stores = await _stores(database_url, 2)  # two nodes, one database
    try:
        node_a, node_b = (WebhookStore(s.engine) for s in stores)
        await node_a.add_endpoint("key-1", "https://93.184.216.34/h", ["call.ended"], max_per_owner=5)
        for n in range(30):
            assert await node_a.enqueue("call.ended", f"evt_{n}", "{}") == 1

        async def drain(node: WebhookStore) -> list[str]:
            taken: list[str] = []
            while batch := await node.claim_due(limit=4, lease_s=30):
                taken += [d.event_id for d, _ in batch]
                await asyncio.sleep(0)
            return taken

        got_a, got_b = await asyncio.gather(drain(node_a), drain(node_b))
        assert not set(got_a) & set(got_b), "a delivery was claimed by both nodes"
        assert sorted(got_a + got_b) == sorted(f"evt_{n}" for n in range(30))

        # A node that hung mid-attempt: its lease lapses and another node takes the row; the
        # hung node's late answer does not overwrite the new owner's.
        await node_a.enqueue("call.ended", "evt_lease", "{}")
        [(first, _)] = await node_a.claim_due(limit=10, lease_s=0.2)
        assert await node_b.claim_due(limit=10, lease_s=30) == []
        await asyncio.sleep(0.3)
        [(second, _)] = await node_b.claim_due(limit=10, lease_s=30)
        assert second.event_id == "evt_lease"
        late = dict(status="failed", attempts=1, response_status=500, error="late", next_attempt_at=time.time())
        assert not await node_a.record_attempt(first, **late)
        done = dict(status="delivered", attempts=1, response_status=200, error=None, next_attempt_at=time.time())
        assert await node_b.record_attempt(second, **done)
        log = {d.event_id: d for d in await node_a.deliveries("key-1", limit=100)}
        assert (log["evt_lease"].status, log["evt_lease"].response_status) == ("delivered", 200)
    finally:
        for store in stores:
            await store.close()


async def test_integration_webhooks_store_failing_receiver_ends_failed(database_url: str) -> None:
    [store] = await _stores(database_url, 1)
    with WebhookReceiver(fail_first=100) as receiver:
        webhooks = WebhookStore(store.engine)
        await webhooks.add_endpoint("key-1", receiver.url, ["call.ended"], max_per_owner=5)
        policy = DispatchPolicy(max_attempts=3, backoff_base_s=0.05, timeout_s=2, allow_http=True, allow_private=True)
        dispatcher = WebhookDispatcher(webhooks, policy)
        dispatcher.start()
        try:
            await dispatcher.publish("call.ended", {"call_id": "call_x"})
            deadline = time.monotonic() + 10
            while (row := (await webhooks.deliveries("key-1"))[0]).status == "pending":
                assert time.monotonic() < deadline, row
                await asyncio.sleep(0.05)
        finally:
            await dispatcher.close()
            await store.close()
    assert (row.status, row.attempts, row.response_status) == ("failed", 3, 500)
    assert [r.status for r in receiver.snapshot()] == [500, 500, 500]


async def test_integration_webhooks_subscriber_list_is_cached_and_refreshed(database_url: str) -> None:
    """Joins read the endpoint list from a short-lived copy: this node's own changes show at
    once, another node's within SUBSCRIBERS_TTL_S."""
    stores = await _stores(database_url, 2)
    try:
        node_a, node_b = (WebhookStore(s.engine) for s in stores)
        assert await node_b.enqueue("call.ended", "evt_before", "{}") == 0  # caches "no endpoints"
        endpoint = await node_a.add_endpoint("key-1", "https://93.184.216.34/h", ["call.ended"], max_per_owner=5)
        assert await node_a.enqueue("call.ended", "evt_a", "{}") == 1  # own change: at once
        assert await node_b.enqueue("call.ended", "evt_b1", "{}") == 0  # another node's: not yet
        await asyncio.sleep(SUBSCRIBERS_TTL_S + 0.2)
        assert await node_b.enqueue("call.ended", "evt_b2", "{}") == 1
        assert await node_a.delete_endpoint("key-1", endpoint.id)
        assert await node_a.enqueue("call.ended", "evt_gone", "{}") == 0
    finally:
        for store in stores:
            await store.close()
