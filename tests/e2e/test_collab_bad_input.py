"""Bad input over the collaboration channels: clear errors, failed transfers, and the call goes on.

Page A gets a hook on its data channels (an init script wraps ``createDataChannel``) and
writes raw frames the SDK would never send: malformed JSON, oversized frames, chunks out
of order, a wrong SHA-256. Page B runs the unmodified SDK.
"""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium

pytestmark = pytest.mark.slow

HOOK_JS = """
(() => {
  window.__channels = {};
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (label, init) {
    const channel = create.call(this, label, init);
    window.__channels[label] = channel;
    return channel;
  };
})();
"""

RECORD_JS = """
() => {
  const call = window.peercallCall;
  const log = window.__log = { call: [], chat: [], files: [], app: [] };
  call.on('error', ({ error }) => log.call.push(error.code + ' ' + error.message));
  call.chat.on('error', ({ error }) => log.chat.push(error.code + ' ' + error.message));
  for (const name of ['offer', 'failed', 'complete']) {
    call.files.on(name, (e) => {
      if (name === 'offer') e.accept();
      log.files.push({ name, id: e.transfer && e.transfer.id, error: e.error ? e.error.message : null,
                       reason: e.error ? e.error.ref : null });
    });
  }
  call.onMessage('t', (m) => log.app.push(m.payload));
}
"""

CHUNK_JS = """
([n, index, size, fill]) => {
  const frame = new Uint8Array(8 + size);
  new DataView(frame.buffer).setUint32(0, n); new DataView(frame.buffer).setUint32(4, index);
  frame.fill(fill, 8);
  window.__channels['peercall-file'].send(frame);
}
"""


async def open_page(browser, join_url: str, hook: bool) -> Page:
    context = await browser.new_context()
    if hook:
        await context.add_init_script(HOOK_JS)
    page = await context.new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(RECORD_JS)
    return page


async def raw(page: Page, label: str, data: str) -> None:
    await page.evaluate("([label, data]) => window.__channels[label].send(data)", [label, data])


async def test_collab_bad_input_errors_failed_transfers_and_call_goes_on(server: ServerProcess):
    room = server.create_room(settings={"max_file_bytes": 250_000})
    async with chromium() as browser:
        page_a = await open_page(browser, server.token(room, "alice", "host")["join_url"], hook=True)
        page_b = await open_page(browser, server.token(room, "bob")["join_url"], hook=False)
        await page_a.evaluate("() => window.peercallCall.chat.send('ready?')")
        await page_a.wait_for_function(
            "() => window.peercallCall.chat.messages[0].status === 'delivered'", timeout=20_000
        )

        # Chat: malformed JSON, oversized frame, a message without text, an unknown frame type.
        await raw(page_a, "peercall-chat", "{not json")
        await raw(page_a, "peercall-chat", '{"t":"msg","id":"x1","ts":1,"body":{"text":"' + "a" * 20_000 + '"}}')
        await raw(page_a, "peercall-chat", '{"t":"msg","id":"x2","ts":1,"body":{"html":"<b>"}}')
        await raw(page_a, "peercall-chat", '{"t":"boom","id":"x3"}')
        await page_b.wait_for_function("() => window.__log.chat.length === 4", timeout=10_000)
        chat_errors = await page_b.evaluate("() => window.__log.chat")
        assert all(e.startswith("invalid_message ") for e in chat_errors), chat_errors
        assert "malformed JSON" in chat_errors[0] and "larger than" in chat_errors[1]
        assert await page_b.evaluate("() => window.peercallCall.chat.messages.length") == 1

        # App messages: malformed on the wire → call error; bad calls throw clear errors at the sender.
        await raw(page_a, "peercall-app", '{"t":"msg","id":"y1","ts":1,"body":{"payload":1}}')
        await page_b.wait_for_function("() => window.__log.call.some((e) => e.startsWith('invalid_message'))")
        thrown = await page_a.evaluate(
            """() => {
              const call = window.peercallCall; const codes = [];
              const attempt = (fn) => { try { fn(); codes.push('ok'); } catch (e) { codes.push(e.code); } };
              attempt(() => call.send('t', 'x'.repeat(20000)));
              attempt(() => call.send('t', { n: 10n }));
              attempt(() => call.send('bad topic!', 1));
              attempt(() => call.send('t', undefined));
              attempt(() => call.chat.send('x'.repeat(4001)));
              attempt(() => call.chat.send('   '));
              return codes;
            }"""
        )
        assert thrown == [
            "message_too_large",
            "invalid_argument",
            "invalid_argument",
            "invalid_argument",
            "message_too_large",
            "invalid_argument",
        ]

        # A file whose chunks arrive out of order: failed, with the reason, and no file.
        offer = {"t": "offer", "n": 7, "name": "x.bin", "size": 200_000, "mime": "", "chunk": 65528}
        await raw(page_a, "peercall-file", json.dumps({**offer, "id": "bad1"}))
        await page_b.wait_for_function("() => window.__log.files.some((e) => e.name === 'offer')")
        await page_a.wait_for_timeout(300)  # B's accept is on its way
        await page_a.evaluate(CHUNK_JS, [7, 1, 65528, 1])
        await page_b.wait_for_function("() => window.__log.files.some((e) => e.name === 'failed')", timeout=10_000)
        failed = [e for e in await page_b.evaluate("() => window.__log.files") if e["name"] == "failed"]
        assert failed[0]["id"] == "bad1" and failed[0]["reason"] == "out_of_order", failed
        assert "chunk 1 arrived, chunk 0 was expected" in failed[0]["error"]
        got = await page_b.evaluate("() => window.peercallCall.files.get('bad1')")
        assert got["transfer"]["state"] == "failed" and got["blob"] is None

        # A file whose bytes do not match the announced SHA-256: failed, never complete.
        await raw(page_a, "peercall-file", json.dumps({**offer, "id": "bad2", "n": 8}))
        await page_b.wait_for_function("() => window.__log.files.filter((e) => e.name === 'offer').length === 2")
        await page_a.wait_for_timeout(300)
        for index, size in enumerate([65528, 65528, 65528, 200_000 - 3 * 65528]):
            await page_a.evaluate(CHUNK_JS, [8, index, size, index + 1])
        await raw(page_a, "peercall-file", '{"t":"end","id":"bad2","sha256":"' + "0" * 64 + '"}')
        await page_b.wait_for_function(
            "() => window.__log.files.filter((e) => e.name === 'failed').length === 2", timeout=10_000
        )
        failed = [e for e in await page_b.evaluate("() => window.__log.files") if e["name"] == "failed"]
        assert failed[1]["id"] == "bad2" and failed[1]["reason"] == "hash_mismatch", failed
        got = await page_b.evaluate("() => window.peercallCall.files.get('bad2')")
        assert got["transfer"]["state"] == "failed" and got["blob"] is None and got["transfer"]["bytes"] == 200_000
        # Garbage on the file channel: reported, nothing else happens.
        await raw(page_a, "peercall-file", "{nope")
        await page_a.evaluate("() => window.__channels['peercall-file'].send(new Uint8Array(3))")
        await page_b.wait_for_function(
            "() => window.__log.files.filter((e) => e.name === 'failed').length === 4", timeout=10_000
        )
        garbage = [e for e in await page_b.evaluate("() => window.__log.files") if e["name"] == "failed"][2:]
        assert [e["id"] for e in garbage] == [None, None], garbage
        assert "malformed JSON" in garbage[0]["error"] and "chunk frame size" in garbage[1]["error"]

        # Over the room's file size limit: refused at the sender, declined by the receiver.
        code = await page_a.evaluate(
            "() => { try { window.peercallCall.files.send(new File([new Uint8Array(250_001)], 'big.bin')); }"
            " catch (e) { return e.code; } }"
        )
        assert code == "message_too_large"
        await raw(page_a, "peercall-file", json.dumps({**offer, "id": "big1", "n": 9, "size": 250_001}))
        await page_b.wait_for_function(
            "() => window.peercallCall.files.get('big1')?.transfer.state === 'declined'", timeout=10_000
        )
        assert (await page_b.evaluate("() => window.peercallCall.files.get('big1').transfer.error")) == "too_large"

        # The call goes on: chat, app messages and a real file still work.
        await page_a.evaluate("() => window.peercallCall.chat.send('still here')")
        await page_b.wait_for_function("() => window.peercallCall.chat.messages.some((m) => m.text === 'still here')")
        await page_a.evaluate("() => window.peercallCall.send('t', {ok: true})")
        await page_b.wait_for_function("() => window.__log.app.length === 1")
        transfer = await page_a.evaluate(
            "() => window.peercallCall.files.send(new File([new Uint8Array(100000).fill(9)], 'ok.bin'))"
        )
        await page_b.wait_for_function(
            "(id) => window.peercallCall.files.get(id)?.transfer.state === 'complete'",
            arg=transfer["id"],
            timeout=20_000,
        )
        assert not await page_b.evaluate("() => window.peercallCall.ended")
        assert await page_b.get_by_test_id("call-screen").is_visible()
