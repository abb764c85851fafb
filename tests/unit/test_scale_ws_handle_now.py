"""Frames that need no waiting (relays on the in-process hub, pings, time requests) are
handled as they are read, without a task; the rest wait in order behind the ones before."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.frames import Opcode

from tests.unit.test_scale_ws_frames import masked
from tests.unit.test_scale_ws_protocol import joined_pair, recv, serving


async def test_scale_ws_handle_now_relays_pings_and_time_without_a_task(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_burst=1000) as node:
        a, joined_a, b, joined_b = await joined_pair(node)
        loop = asyncio.get_running_loop()
        created: list[str] = []

        def counting_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            created.append(getattr(coro, "__qualname__", "?"))
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(counting_factory)
        try:
            frames = [{"type": "ice-candidate", "to": joined_b["peer_id"], "candidate": None} for _ in range(100)]
            frames += [{"type": "ping", "ts": n} for n in range(20)] + [{"type": "time", "ts": 1}]
            a.transport.write(b"".join(masked(Opcode.TEXT, json.dumps(f).encode()) for f in frames))
            heard = [await recv(b) for _ in range(100)]
            answers = [await recv(a) for _ in range(21)]
        finally:
            loop.set_task_factory(None)
        assert [f["type"] for f in heard] == ["ice-candidate"] * 100
        assert all(f["from"] == joined_a["peer_id"] for f in heard)
        assert [f["seq"] for f in heard] == sorted(f["seq"] for f in heard)
        assert [f["type"] for f in answers] == ["pong"] * 20 + ["time"]
        assert [f["ts"] for f in answers[:20]] == list(range(20))
        # The server side made no task for these frames (the client side's reads are not
        # tasks per frame either): 121 frames, a handful of tasks at most.
        server_tasks = [name for name in created if "SignalingProtocol" in name]
        assert server_tasks == [], server_tasks
        await a.close()
        await b.close()


async def test_scale_ws_handle_now_keeps_order_behind_a_waiting_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relayed frame read while a media-state change waits on the hub is relayed after
    it: the partner hears `peer-media` first, then the offers, in the order written."""
    async with serving(tmp_path) as node:
        a, _, b, joined_b = await joined_pair(node)
        hub = node.app.state.services.hub
        real_set_media = hub.set_media

        async def slow_set_media(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0.05)
            return await real_set_media(*args, **kwargs)

        monkeypatch.setattr(hub, "set_media", slow_set_media)
        media = {"type": "media-state", "audio": "muted", "video": "on"}
        offers = [{"type": "offer", "to": joined_b["peer_id"], "sdp": f"v=0 {n}"} for n in range(3)]
        a.transport.write(b"".join(masked(Opcode.TEXT, json.dumps(f).encode()) for f in [media, *offers]))
        heard = [await recv(b) for _ in range(4)]
        assert [f["type"] for f in heard] == ["peer-media", "offer", "offer", "offer"], heard
        assert [f["sdp"] for f in heard[1:]] == ["v=0 0", "v=0 1", "v=0 2"]
        assert [f["seq"] for f in heard] == sorted(f["seq"] for f in heard)
        await a.close()
        await b.close()
