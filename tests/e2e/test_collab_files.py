"""End to end: file sharing between two real Chromium pages over the call's data channel."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest
from playwright.async_api import Page

from peercall.testing import ServerProcess
from peercall.testing.browser import chromium

pytestmark = pytest.mark.slow

# In the page: record file events; `__makeFile(size)` builds a random Blob and its SHA-256
# (test side only: crypto.subtle over the whole buffer is fine here).
SETUP_JS = """
() => {
  const call = window.peercallCall;
  const log = window.__files = { events: [], offers: [], autoAccept: true };
  for (const name of ['offer', 'complete', 'failed', 'cancelled', 'declined']) {
    call.files.on(name, (e) => {
      log.events.push({ name, id: e.transfer && e.transfer.id, state: e.transfer && e.transfer.state,
                        error: e.error ? e.error.message : null, by: e.by || null });
      if (name === 'offer') { log.offers.push(e.transfer.id); if (log.autoAccept) e.accept(); }
    });
  }
  window.__sha = async (blob) => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  window.__makeFile = async (size, name) => {
    const parts = [];
    for (let at = 0; at < size; at += 65536) {
      const part = new Uint8Array(Math.min(65536, size - at));
      crypto.getRandomValues(part);
      parts.push(part);
    }
    const file = new File(parts, name, { type: 'application/octet-stream' });
    window.__sent = file;
    return window.__sha(file);
  };
}
"""


async def open_call(browser, join_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 900, "height": 700})
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{join_url[-6:]}] {msg.type}: {msg.text}") if msg.type == "error" else None)
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(SETUP_JS)
    return page


async def joined_pair(browser, server: ServerProcess) -> tuple[Page, Page]:
    room = server.create_room()
    page_a = await open_call(browser, server.token(room, "alice", "host", name="Alice")["join_url"])
    page_b = await open_call(browser, server.token(room, "bob", name="Bob")["join_url"])
    # The data channels are open once a chat message round-trips.
    await page_a.evaluate("() => window.peercallCall.chat.send('ready?')")
    await page_a.wait_for_function("() => window.peercallCall.chat.messages[0].status === 'delivered'", timeout=20_000)
    return page_a, page_b


async def wait_event(page: Page, name: str, timeout_s: float = 60) -> dict:
    await page.wait_for_function(
        f"() => window.__files.events.some((e) => e.name === '{name}' || e.name === 'failed')", timeout=timeout_s * 1000
    )
    events = await page.evaluate("() => window.__files.events")
    found = [e for e in events if e["name"] == name]
    assert found, events
    return dict(found[0])


async def test_collab_file_50mb_sha256_matches_and_throughput(shared_server: ServerProcess):
    size = 50 * 1024 * 1024
    async with chromium() as browser:
        page_a, page_b = await joined_pair(browser, shared_server)
        sent_sha = await page_a.evaluate("(size) => window.__makeFile(size, 'random.bin')", size)
        transfer = await page_a.evaluate("() => window.peercallCall.files.send(window.__sent)")
        assert transfer["state"] == "offered" and transfer["size"] == size
        done_b = await wait_event(page_b, "complete", timeout_s=90)
        done_a = await wait_event(page_a, "complete", timeout_s=10)
        assert done_a["id"] == done_b["id"] == transfer["id"]
        info = await page_b.evaluate(
            "async (id) => { const { transfer, blob } = window.peercallCall.files.get(id);"
            " return { transfer, size: blob.size, sha: await window.__sha(blob), type: blob.type }; }",
            transfer["id"],
        )
        assert info["size"] == size
        assert info["sha"] == sent_sha == info["transfer"]["sha256"]
        assert info["transfer"]["name"] == "random.bin" and info["type"] == "application/octet-stream"
        sender = await page_a.evaluate("(id) => window.peercallCall.files.get(id).transfer", transfer["id"])
        assert sender["sha256"] == sent_sha and sender["confirmed"] == size
        seconds = (info["transfer"]["finishedAt"] - info["transfer"]["startedAt"]) / 1000
        print(f"\nfile transfer 50 MB: {seconds:.2f} s, {size / 1e6 / seconds:.1f} MB/s (receiver's clock)")


async def test_collab_file_cancel_leaves_no_complete_file(shared_server: ServerProcess):
    size = 12 * 1024 * 1024
    async with chromium() as browser:
        page_a, page_b = await joined_pair(browser, shared_server)
        await page_a.evaluate("(size) => window.__makeFile(size, 'big.bin')", size)
        # The receiver cancels as soon as 1 MB has arrived.
        transfer = await page_a.evaluate("() => window.peercallCall.files.send(window.__sent)")
        await page_b.wait_for_function(
            "(id) => (window.peercallCall.files.get(id)?.transfer.bytes ?? 0) > 1e6", arg=transfer["id"], timeout=30_000
        )
        await page_b.evaluate("(id) => window.peercallCall.files.cancel(id)", transfer["id"])
        cancelled_a = await wait_event(page_a, "cancelled", timeout_s=10)
        assert cancelled_a["by"] == "peer"
        await asyncio.sleep(1.0)
        got = await page_b.evaluate("(id) => window.peercallCall.files.get(id)", transfer["id"])
        assert got["blob"] is None and got["transfer"]["state"] == "cancelled"
        assert got["transfer"]["bytes"] < size
        for page in (page_a, page_b):
            names = [e["name"] for e in await page.evaluate("() => window.__files.events")]
            assert "complete" not in names, names

        # The sender cancels the next one; the call (and the channel) go on: a third file completes.
        page_b_log = "() => window.__files.events.filter((e) => e.name === 'cancelled').length"
        second = await page_a.evaluate("() => window.peercallCall.files.send(window.__sent)")
        await page_b.wait_for_function(
            "(id) => (window.peercallCall.files.get(id)?.transfer.bytes ?? 0) > 1e6", arg=second["id"], timeout=30_000
        )
        await page_a.evaluate("(id) => window.peercallCall.files.cancel(id)", second["id"])
        await page_b.wait_for_function(f"() => ({page_b_log})() === 2", timeout=10_000)
        assert (await page_b.evaluate("(id) => window.peercallCall.files.get(id)", second["id"]))["blob"] is None
        small_sha = await page_a.evaluate("() => window.__makeFile(100000, 'small.bin')")
        third = await page_a.evaluate("() => window.peercallCall.files.send(window.__sent)")
        await page_b.wait_for_function(
            "(id) => window.peercallCall.files.get(id)?.transfer.state === 'complete'", arg=third["id"], timeout=20_000
        )
        got_sha = await page_b.evaluate("(id) => window.__sha(window.peercallCall.files.get(id).blob)", third["id"])
        assert got_sha == small_sha


async def test_collab_file_ui_picker_accept_progress_and_download(shared_server: ServerProcess, tmp_path):
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    async with chromium() as browser:
        page_a, page_b = await joined_pair(browser, shared_server)
        await page_b.evaluate("() => { window.__files.autoAccept = false; }")
        await page_a.get_by_test_id("file-input").set_input_files(str(source))
        row_b = page_b.get_by_test_id("file-row")
        await row_b.get_by_test_id("file-accept").click(timeout=10_000)
        async with page_b.expect_download(timeout=30_000) as download_info:
            await row_b.get_by_test_id("file-download").click(timeout=30_000)
        saved = tmp_path / "saved.bin"
        await (await download_info.value).save_as(saved)
        assert (await download_info.value).suggested_filename == "report.pdf"
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
        # Both progress bars are full; the sender's row says done.
        row_a = page_a.get_by_test_id("file-row")
        await page_a.locator("[data-testid=file-row][data-state=complete]").wait_for(timeout=10_000)
        for row in (row_a, row_b):
            progress = row.get_by_test_id("file-progress")
            assert await progress.evaluate("(p) => p.value === p.max"), await progress.evaluate(
                "(p) => [p.value, p.max]"
            )

        # Drag-and-drop onto the call: offered; Bob declines; Alice sees it declined.
        await page_a.evaluate(
            """() => {
              const dt = new DataTransfer();
              dt.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
              const target = document.querySelector('[data-testid=call-screen]');
              target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
              target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
            }"""
        )
        dropped = page_b.locator("[data-testid=file-row][data-state=offered]")
        assert "dropped.txt" in await dropped.inner_text(timeout=10_000)
        await dropped.get_by_test_id("file-decline").click()
        await page_a.locator("[data-testid=file-row][data-state=declined]").wait_for(timeout=10_000)
        states = await page_b.evaluate("() => window.peercallCall.files.list().map((t) => [t.name, t.state])")
        assert states == [["report.pdf", "complete"], ["dropped.txt", "declined"]]
