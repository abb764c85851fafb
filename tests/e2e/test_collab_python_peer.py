"""Interop: a Chromium page and the Python peer (aiortc) chat and send files both ways."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page

from peercall.peer import Peer
from peercall.testing import ServerProcess
from peercall.testing.browser import chromium

pytestmark = pytest.mark.slow

SETUP_JS = """
() => {
  const call = window.peercallCall;
  window.__got = [];
  call.files.on('offer', (e) => e.accept());
  call.files.on('complete', (e) => { if (e.blob) window.__got.push(e.transfer.id); });
  window.__sha = async (blob) => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  };
}
"""


@asynccontextmanager
async def call_with_bot(server: ServerProcess, tmp_path: Path) -> AsyncIterator[tuple[Page, Peer]]:
    """A host in Chromium and a Python bot (no media) in one room; the bot saves files to tmp/inbox."""
    room = server.create_room()
    human = server.token(room, "agent", "host", name="Agent")
    bot_token = server.token(room, "bot", name="Bot")
    (tmp_path / "inbox").mkdir()
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(human["join_url"] + "&autojoin=1")
        await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
        await page.evaluate(SETUP_JS)
        bot = await Peer.join(server.base_url, bot_token["token"], video=False, audio=False)
        bot.files.directory = tmp_path / "inbox"
        try:
            yield page, bot
        finally:
            await bot.leave()


async def test_collab_browser_and_python_peer_chat_and_files(server: ServerProcess, tmp_path: Path):
    outgoing = tmp_path / "from-bot.bin"
    outgoing.write_bytes(os.urandom(700_001))
    async with call_with_bot(server, tmp_path) as (page, bot):
        inbox = bot.files.directory
        # Chat both ways, with receipts on both sides.
        await page.evaluate("() => window.peercallCall.chat.send('hello bot')")
        await bot.chat.wait_for(lambda msgs: any(m.text == "hello bot" for m in msgs), timeout=30)
        [received] = bot.chat.messages
        assert received.sender == "agent" and not received.mine
        await page.wait_for_function(
            "() => window.peercallCall.chat.messages[0].status === 'delivered'", timeout=10_000
        )
        reply = bot.chat.send("hello human ✓")
        await page.wait_for_function("() => window.peercallCall.chat.messages.length === 2", timeout=10_000)
        last = await page.evaluate("() => window.peercallCall.chat.messages[1]")
        assert (last["text"], last["from"], last["id"]) == ("hello human ✓", "bot", reply.id)
        await bot.chat.wait_for(lambda _: reply.status == "delivered", timeout=10)

        # Python → browser file, verified in the page.
        sent = await asyncio.wait_for(bot.files.send(outgoing), timeout=60)
        assert sent.state == "complete"
        await page.wait_for_function("() => window.__got.length === 1", timeout=10_000)
        digest = await page.evaluate("async () => window.__sha(window.peercallCall.files.get(window.__got[0]).blob)")
        assert digest == hashlib.sha256(outgoing.read_bytes()).hexdigest() == sent.sha256

        # Browser → Python file, written to disk under its hash.
        expected = await page.evaluate(
            """async () => {
              const bytes = new Uint8Array(1_500_000); crypto.getRandomValues(bytes.subarray(0, 65536));
              for (let i = 65536; i < bytes.length; i++) bytes[i] = (i * 31) & 255;
              const file = new File([bytes], 'notes.txt', { type: 'text/plain' });
              window.peercallCall.files.send(file);
              return window.__sha(file);
            }"""
        )
        transfer = await asyncio.wait_for(bot.files.received.get(), timeout=60)
        assert transfer.name == "notes.txt" and transfer.sha256 == expected
        assert transfer.path == inbox / expected
        assert hashlib.sha256(transfer.path.read_bytes()).hexdigest() == expected
        assert sorted(p.name for p in inbox.iterdir()) == [expected]  # no partial file left
        await page.wait_for_function(
            "() => window.peercallCall.files.list().some((t) => t.direction === 'out' && t.state === 'complete')",
            timeout=10_000,
        )
        assert bot.chat.errors == [] and bot.files.errors == []


async def test_collab_file_transfers_resume_across_a_replaced_connection(server: ServerProcess, tmp_path: Path):
    """The Python peer rebuilds the connection mid-transfer (``restart``: a new RTCPeerConnection on
    both sides, new data channels): each transfer resumes from the receiver's next chunk."""
    outgoing = tmp_path / "from-bot.bin"
    outgoing.write_bytes(os.urandom(6_000_000))
    async with call_with_bot(server, tmp_path) as (page, bot):
        browser_id = next(iter(bot.peers))
        bot.chat.send("hi")
        await page.wait_for_function("() => window.peercallCall.chat.messages.length === 1", timeout=30_000)

        # Browser → Python: restart once a third has arrived.
        expected = await page.evaluate(
            """async () => {
              const parts = []; for (let i = 0; i < 6_000_000; i += 65536) {
                const p = new Uint8Array(Math.min(65536, 6_000_000 - i));
                crypto.getRandomValues(p); parts.push(p); }
              const file = new File(parts, 'big.bin');
              window.__transfer = window.peercallCall.files.send(file);
              return window.__sha(file);
            }"""
        )
        incoming = None
        async with asyncio.timeout(60):
            while incoming is None or incoming.nbytes < 2_000_000:
                incoming = next((t for t in bot.files.transfers.values() if t.direction == "in"), None)
                await asyncio.sleep(0.05)
        bot.restart(browser_id)
        received = await asyncio.wait_for(bot.files.received.get(), timeout=90)
        assert received.sha256 == expected and hashlib.sha256(received.path.read_bytes()).hexdigest() == expected
        assert len(received.resumed_from) == 1 and 0 < received.resumed_from[0] < received.chunks
        await page.wait_for_function(
            "() => window.peercallCall.files.get(window.__transfer.id).transfer.state === 'complete'",
            timeout=10_000,
        )

        # Python → browser: restart mid-way again; the browser asks for the rest.
        sending = asyncio.create_task(bot.files.send(outgoing))
        await page.wait_for_function(
            "() => window.peercallCall.files.list().some((t) => t.direction === 'in' && t.bytes > 2e6)",
            timeout=60_000,
        )
        browser_id = next(iter(bot.peers))
        bot.restart(browser_id)
        sent = await asyncio.wait_for(sending, timeout=90)
        await page.wait_for_function("() => window.__got.length === 1", timeout=10_000)
        digest = await page.evaluate("async () => window.__sha(window.peercallCall.files.get(window.__got[0]).blob)")
        assert digest == hashlib.sha256(outgoing.read_bytes()).hexdigest() == sent.sha256
        # Chat survived both replacements, each message once.
        bot.chat.send("after")
        await page.wait_for_function("() => window.peercallCall.chat.messages.length === 2", timeout=20_000)
        texts = await page.evaluate("() => window.peercallCall.chat.messages.map((m) => m.text)")
        assert texts == ["hi", "after"]
