"""End to end: the call UI embedded in an iframe of a host page on another origin.

The host page (served by a second loopback server as ``http://localhost:PORT``, a different
origin from the peercall server on ``127.0.0.1``) loads ``/embed.js``, joins through the
postMessage API, mutes, and leaves; the other participant (a plain call page) sees each
effect. A sibling frame on a non-allowed origin sends the same commands: they are ignored.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from playwright.async_api import Frame, Page

from peercall.testing import ServerProcess, free_port, start_server, stop_server
from peercall.testing.browser import chromium, wait_decoding

pytestmark = pytest.mark.slow

PAGES_PORT = free_port()
HOST = f"http://localhost:{PAGES_PORT}"  # the customer's dashboard (allowed)
EVIL = f"http://127.0.0.1:{PAGES_PORT}"  # same server, another origin (not allowed)

HOST_PAGE = """<!doctype html><html><body>
<div id="box" style="width:640px;height:480px"></div>
<iframe id="evil" src="%(evil)s/evil.html"></iframe>
<script src="%(server)s/embed.js"></script>
<script>
  window.events = [];
  window.embed = PeercallEmbed.create(document.getElementById('box'), %(options)s);
  for (const name of ['ready', 'joined', 'peer-joined', 'peer-left', 'media', 'left', 'error'])
    window.embed.on(name, (data) => window.events.push({ name, data }));
  // Anything else that reaches the host page (nothing should: events go to the host origin only).
  window.addEventListener('message', (e) => {
    if (e.origin !== '%(server)s') window.events.push({ name: 'stray', origin: e.origin });
  });
</script></body></html>"""

# The sibling frame on a non-allowed origin: it targets the call iframe directly.
EVIL_PAGE = """<!doctype html><html><body><script>
  window.attack = (command) => parent.frames[0].postMessage({ peercall: 'command', id: 'x', command }, '*');
</script></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[str, str]]:
    """A plain HTTP server on a second loopback port for the host page and the sibling frame.

    A real server, not ``page.route``: Chromium's local-network checks block a routed
    (address-less) page from loading scripts from the loopback peercall server.
    """
    httpd = ThreadingHTTPServer(("127.0.0.1", PAGES_PORT), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield _Pages.pages
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PEERCALL_EMBED_ORIGINS": json.dumps([HOST])}
    proc = start_server(tmp_path_factory.mktemp("embed"), extra_env=env)
    yield proc
    stop_server(proc)


async def until(page: Page | Frame, js: str, timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await page.evaluate(js)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {js[:90]!r}: last {value!r}")


def event_js(name: str, cond: str = "true") -> str:
    return f"() => window.events.find((e) => e.name === {name!r} && ({cond}))"


def test_integration_embed_headers_allow_only_configured_origins(embed_server: ServerProcess) -> None:
    page = httpx.get(f"{embed_server.base_url}/call")
    csp = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {HOST}" in csp and EVIL not in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert f'<meta name="peercall-embed-origins" content="{HOST}">' in page.text
    helper = httpx.get(f"{embed_server.base_url}/embed.js")
    assert helper.status_code == 200 and "javascript" in helper.headers["content-type"]


async def test_integration_embed_iframe_post_message_api(embed_server: ServerProcess, pages: dict[str, str]) -> None:
    started = time.monotonic()
    room = embed_server.create_room()
    alice = embed_server.token(room, "alice", "host", name="Alice")
    bob = embed_server.token(room, "bob", name="Bob")
    options = json.dumps(
        {"url": alice["join_url"], "lang": "de", "theme": "light", "accent": "#e0005a", "logo": "/ui/icon.svg"}
        | {"controls": False}
    )
    host_html = HOST_PAGE % {"evil": EVIL, "server": embed_server.base_url, "options": options}

    async with chromium() as browser:
        pages.update({"/app.html": host_html, "/evil.html": EVIL_PAGE})
        host = await browser.new_page()
        host.on("console", lambda m: print(f"[host] {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        await host.goto(f"{HOST}/app.html")
        await until(host, event_js("ready"))
        call_frame = next(f for f in host.frames if f.url.startswith(embed_server.base_url))
        evil_frame = next(f for f in host.frames if f.url.startswith(EVIL))

        # Options reached the embedded page: German strings, light theme, accent colour.
        assert await call_frame.evaluate("() => document.documentElement.lang") == "de"
        assert await call_frame.get_by_test_id("join-button").text_content() == "Anruf beitreten"
        assert await call_frame.evaluate("() => document.documentElement.dataset.theme") == "light"
        accent = "() => getComputedStyle(document.documentElement).getPropertyValue('--pc-accent').trim()"
        assert await call_frame.evaluate(accent) == "#e0005a"
        logo = call_frame.get_by_test_id("logo")
        await logo.wait_for(state="visible", timeout=5_000)
        assert await logo.evaluate("(img) => img.complete && img.naturalWidth > 0")

        # A non-allowed origin cannot make the embedded page join.
        await evil_frame.evaluate("() => window.attack('join')")
        await asyncio.sleep(1.0)
        assert await call_frame.evaluate("() => !window.peercallCall")

        # join → joined; the other participant arrives → peer-joined.
        await host.evaluate("() => window.embed.join()")
        joined = await until(host, event_js("joined"))
        assert joined["data"]["identity"] == "alice" and joined["data"]["media"]["audio"] == "on"
        bob_page = await (await browser.new_context()).new_page()
        await bob_page.goto(bob["join_url"] + "&autojoin=1")
        await until(host, event_js("peer-joined", "e.data.identity === 'bob'"))
        await wait_decoding(bob_page, min_frames=10)

        # The non-allowed origin's mute is ignored: Alice's mic stays on, Bob sees no mute icon.
        await evil_frame.evaluate("() => window.attack('mute')")
        await asyncio.sleep(1.0)
        assert await call_frame.evaluate("() => window.peercallCall.media.state.audio") == "on"
        assert not await bob_page.get_by_test_id("remote-muted").is_visible()

        # The host page's mute: Bob sees Alice muted; the host gets the media event.
        await host.evaluate("() => window.embed.mute()")
        await bob_page.get_by_test_id("remote-muted").wait_for(state="visible", timeout=10_000)
        await until(host, event_js("media", "e.data.local && e.data.media.audio !== 'on'"))
        assert await call_frame.get_by_test_id("mic-button").get_attribute("aria-pressed") == "true"
        assert await call_frame.locator(".pc-controls").is_hidden()  # controls=0: the host page drives
        await host.evaluate("() => window.embed.unmute()")
        await bob_page.get_by_test_id("remote-muted").wait_for(state="hidden", timeout=10_000)

        # Camera off from the host page: Bob sees the avatar instead of the picture.
        await host.evaluate("() => window.embed.cameraOff()")
        await bob_page.get_by_test_id("remote-avatar").wait_for(state="visible", timeout=10_000)

        # An unknown command is answered with an error, not executed.
        error = await host.evaluate(
            "() => new Promise((ok) => { window.embed.iframe.contentWindow.postMessage("
            "{ peercall: 'command', id: 'bad', command: 'drop-table' }, new URL(window.embed.iframe.src).origin);"
            " addEventListener('message', (e) => { if (e.data?.id === 'bad') ok(e.data); }); })"
        )
        assert error["ok"] is False and error["error"]["code"] == "bad_command"

        # leave → left on the host page; Bob sees the call end.
        await host.evaluate("() => window.embed.leave()")
        left = await until(host, event_js("left"))
        assert left["data"]["reason"] == "hangup"
        await bob_page.get_by_test_id("ended-screen").wait_for(state="visible", timeout=10_000)
        assert not await host.evaluate(event_js("stray")), await host.evaluate("() => window.events")
        assert not await host.evaluate(event_js("error")), await host.evaluate("() => window.events")
    print(f"embed test took {time.monotonic() - started:.1f} s")


def test_integration_embed_every_language_has_every_string() -> None:
    """A translation that lacks a key silently shows English: keep the locales complete."""
    locales = Path(__file__).resolve().parents[2] / "src/peercall/web/ui/locales"
    key = re.compile(r"^  '?([\w.]+)'?: '", re.MULTILINE)
    keys = {path.stem: set(key.findall(path.read_text())) for path in locales.glob("*.js")}
    assert set(keys) >= {"en", "de"} and len(keys["en"]) > 80, {name: len(k) for name, k in keys.items()}
    for name, found in keys.items():
        assert found == keys["en"], (name, sorted(keys["en"] ^ found))
