"""Connecting, joining and relaying leave no reference cycles behind on the server: what a
socket no longer needs is freed at once, not by the cyclic GC (whose young collections
then stall the node for milliseconds, every second of a connection ramp)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from tests.unit.test_scale_ws_protocol import joined_pair, recv, serving

_SERVER_SIDE = {"peercall", "uvicorn", "httptools", "websockets", "starlette", "fastapi"}


def _alive(type_name: str) -> int:
    return sum(1 for obj in gc.get_objects() if type(obj).__name__ == type_name)


async def test_scale_ws_upgrades_and_relays_leave_no_cycles(tmp_path: Path) -> None:
    async with serving(tmp_path) as node:
        gc.collect()
        gc.disable()  # cyclic garbage stays in gc.get_objects() until collected
        try:
            before = _alive("HttpToolsProtocol")
            pairs = [await joined_pair(node) for _ in range(10)]
            for a, _, b, joined_b in pairs:
                await a.send(json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": "v=0"}))
                assert (await recv(b))["type"] == "offer"
            # uvicorn's HTTP protocol of each upgraded connection (its parser held its callbacks)
            assert _alive("HttpToolsProtocol") - before == 0
            gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage
            gc.collect()
            server_side = [o for o in gc.garbage if type(o).__module__.split(".")[0] in _SERVER_SIDE]
            assert server_side == [], server_side[:10]  # the test's own httpx calls leave some
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        for a, _, b, _ in pairs:
            await a.close()
            await b.close()
