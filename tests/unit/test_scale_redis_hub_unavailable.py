"""A Redis that does not answer surfaces as HubUnavailable (a lost socket for the
session, see test_scale_ws_protocol), not as a bug with a traceback and a lost member."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from peercall.hub.base import HubUnavailable
from peercall.hub.redis_hub import RedisHub
from peercall.testing.server import free_port


async def test_scale_redis_hub_unreachable_is_hub_unavailable() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    hub = RedisHub(client, node_id="unreachable")
    try:
        with pytest.raises(HubUnavailable, match="redis"):
            await hub.send("room_x", "p_1", {"type": "offer", "sdp": "v=0"})
    finally:
        await client.aclose()
