"""End to end: in-call chat and app messages between two real Chromium pages (data channels)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium

pytestmark = pytest.mark.slow

# Collects what the SDK reports, so the test asserts on events, not only on the DOM.
RECORD_JS = """
() => {
  const call = window.peercallCall;
  window.__collab = { delivered: [], app: [], errors: [] };
  call.chat.on('delivered', ({ message }) => window.__collab.delivered.push(message.id));
  call.onMessage('quiz/answer', (m) => window.__collab.app.push({ payload: m.payload, identity: m.identity }));
  call.on('error', ({ error }) => window.__collab.errors.push(error.code + ': ' + error.message));
}
"""


async def open_call(browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 700})
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{join_url[-6:]}] {msg.type}: {msg.text}") if msg.type == "error" else None)
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(RECORD_JS)
    return page


async def type_and_send(page: Page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


async def test_collab_chat_both_ways_with_receipts_unread_badge_and_app_messages(server: ServerProcess):
    room = server.create_room(settings={"chat_archive": True})
    alice = server.token(room, "alice", "host", name="Alice")
    bob = server.token(room, "bob", name="Bob")
    async with chromium() as browser:
        page_a = await open_call(browser, alice["join_url"])
        page_b = await open_call(browser, bob["join_url"])
        await page_a.get_by_test_id("chat-button").click()  # Alice has the panel open; Bob does not

        # Typing indicator, then Alice → Bob: Bob's unread badge counts it; Alice sees the receipt.
        await page_a.get_by_test_id("chat-input").press_sequentially("Hel")
        await page_b.wait_for_function(
            "() => document.querySelector('[data-testid=chat-typing]').textContent === 'Alice is typing…'",
            timeout=20_000,
        )
        await type_and_send(page_a, "Hello Bob")
        await page_b.get_by_test_id("chat-unread").filter(has_text="1").wait_for(timeout=10_000)
        await page_a.locator("[data-testid=chat-message].pc-chat-mine[data-status=delivered]").wait_for(timeout=10_000)
        await page_b.get_by_test_id("chat-button").click()
        assert await page_b.get_by_test_id("chat-unread").is_hidden()
        assert await page_b.get_by_test_id("chat-text").all_inner_texts() == ["Hello Bob"]

        # Bob → Alice, with markup that must stay text.
        await type_and_send(page_b, "<b>hi</b> Alice")
        await page_a.get_by_test_id("chat-text").nth(1).wait_for(timeout=10_000)
        assert await page_a.get_by_test_id("chat-text").all_inner_texts() == ["Hello Bob", "<b>hi</b> Alice"]
        await page_b.locator("[data-testid=chat-message].pc-chat-mine[data-status=delivered]").wait_for(timeout=10_000)

        # Ids, timestamps, receipts as the SDK reports them.
        msgs_a = await page_a.evaluate("() => window.peercallCall.chat.messages")
        msgs_b = await page_b.evaluate("() => window.peercallCall.chat.messages")
        assert [m["id"] for m in msgs_a] == [m["id"] for m in msgs_b]
        assert [(m["from"], m["mine"]) for m in msgs_a] == [("alice", True), ("bob", False)]
        assert all(abs(m["ts"] - msgs_b[0]["ts"]) < 60_000 for m in msgs_a)
        assert await page_a.evaluate("() => window.__collab.delivered") == [msgs_a[0]["id"]]
        assert await page_a.evaluate("() => window.peercallCall.chat.pending") == 0

        # App messages: a customer's own topic, JSON payload, exactly once.
        await page_a.evaluate("() => window.peercallCall.send('quiz/answer', {q: 3, choice: ['b'], ok: true})")
        await page_b.wait_for_function("() => window.__collab.app.length === 1")
        await asyncio.sleep(0.5)
        assert await page_b.evaluate("() => window.__collab.app") == [
            {"payload": {"q": 3, "choice": ["b"], "ok": True}, "identity": "alice"}
        ]
        # The room keeps a transcript: each side's copy reached the server, once.
        with server.api() as api:
            transcript = api.get(f"/api/rooms/{room}/chat").json()
        assert [(m["id"], m["identity"], m["text"]) for m in transcript["messages"]] == [
            (msgs_a[0]["id"], "alice", "Hello Bob"),
            (msgs_a[1]["id"], "bob", "<b>hi</b> Alice"),
        ]
        assert await page_a.evaluate("() => window.__collab.errors") == []
        assert await page_b.evaluate("() => window.__collab.errors") == []
