"""Chat across a real network outage: messages typed while A's link is down arrive once after recovery.

Chromium A and B run in their own network namespaces (see peercall.testing.netcall); A's link
is cut for 20 s, past ICE `failed`, so the media needs the recovery ladder to come back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from peercall.testing.netcall import call_in_netns
from peercall.testing.netns import Topology

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


async def send_via_ui(page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


async def texts(page) -> list[str]:
    result: list[str] = await page.evaluate("() => window.peercallCall.chat.messages.map((m) => m.text)")
    return result


async def test_collab_chat_typed_while_link_down_arrives_once(topo: Topology, tmp_path: Path) -> None:
    server = topo.start_server(tmp_path)
    async with call_in_netns(topo, server) as call:
        a, b = call["a"].page, call["b"].page
        await a.get_by_test_id("chat-button").click()
        await b.get_by_test_id("chat-button").click()
        await send_via_ui(a, "before")
        await b.wait_for_function("() => window.peercallCall.chat.messages.length === 1", timeout=10_000)

        topo.link_down("a")
        await asyncio.sleep(2)
        await send_via_ui(a, "while down 1")
        await send_via_ui(b, "from b while a is down")
        await asyncio.sleep(8)
        await send_via_ui(a, "while down 2")
        await asyncio.sleep(10)
        assert await texts(b) == ["before", "from b while a is down"], "A's messages arrived while its link was down"
        statuses = await a.evaluate(
            "() => window.peercallCall.chat.messages.filter((m) => m.mine).map((m) => m.status)"
        )
        assert statuses[1:] != ["delivered", "delivered"], statuses
        topo.link_up("a")

        # Both sides end up with the same four messages, each exactly once, A's in order.
        await b.wait_for_function("() => window.peercallCall.chat.messages.length >= 4", timeout=40_000)
        await a.wait_for_function("() => window.peercallCall.chat.messages.length >= 4", timeout=20_000)
        await a.wait_for_function("() => window.peercallCall.chat.pending === 0", timeout=20_000)
        await b.wait_for_function("() => window.peercallCall.chat.pending === 0", timeout=20_000)
        await asyncio.sleep(1.0)  # a duplicate would show up now
        got_b, got_a = await texts(b), await texts(a)
        assert (
            sorted(got_b)
            == sorted(got_a)
            == sorted(["before", "while down 1", "while down 2", "from b while a is down"])
        )
        assert [t for t in got_b if t.startswith(("before", "while"))] == ["before", "while down 1", "while down 2"]
        ids_b = await b.evaluate("() => window.peercallCall.chat.messages.map((m) => m.id)")
        assert len(set(ids_b)) == 4
        rows = await b.get_by_test_id("chat-text").all_inner_texts()
        assert sorted(rows) == sorted(got_b)
        statuses = await a.evaluate(
            "() => window.peercallCall.chat.messages.filter((m) => m.mine).map((m) => m.status)"
        )
        assert statuses == ["delivered"] * 3
        print(await call.timelines())
