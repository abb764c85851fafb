"""A real two-party call between Chromium browsers running in the namespaces of a :class:`Topology`.

Why: reconnect tests and the reconnect benchmark need the same things: one Chromium per
host namespace (so cutting a host's link really cuts that browser off), the call UI
joined through the server in the router namespace, and an in-page recorder that stamps
every presented remote video frame with ``Date.now()`` — the same machine clock as the
test's ``time.time()``, so "link up → first new decoded frame" is one subtraction.

The recorder (:data:`PAGE_MONITOR_JS`) also logs every SDK event (all names in
``CallEvent``, so events added later are captured too) and every status-line text.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright, async_playwright

from peercall.testing.browser import CHROMIUM_ARGS
from peercall.testing.netns import Host, Topology
from peercall.testing.server import ServerProcess

# Runs in every page before the app: frame stamps, SDK event log, status-line log.
PAGE_MONITOR_JS = r"""
(() => {
  if (window.__pc) return;
  const pc = window.__pc = { frames: [], events: [], status: [] };
  const cap = (list, max) => { if (list.length > max) list.splice(0, list.length - Math.floor(max / 2)); };
  let armedStream = null, handle = 0, subscribed = null, lastStatus = null;
  const arm = (video) => {
    // Re-arm when the element gets a new stream (a rebuilt connection), else keep the chain.
    if (handle && armedStream === video.srcObject) return;
    if (handle) video.cancelVideoFrameCallback(handle);
    armedStream = video.srcObject;
    const onFrame = () => {
      pc.frames.push(Date.now());
      cap(pc.frames, 40000);
      handle = video.requestVideoFrameCallback(onFrame);
    };
    handle = video.requestVideoFrameCallback(onFrame);
  };
  const summary = (payload) => {
    const out = {};
    for (const [key, value] of Object.entries(payload || {})) {
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
      else if (key === 'error' && value) out.error = `${value.code}: ${value.message}`;
      else if (key === 'peer' && value) out.peer = value.peerId;
      else if (key === 'self' && value) out.self = value.peerId;
    }
    return out;
  };
  const subscribe = async (call) => {
    const { CallEvent } = await import('/sdk/peercall.js');
    for (const name of Object.values(CallEvent)) {
      call.on(name, (payload) => {
        pc.events.push({ t: Date.now(), name, ...summary(payload) });
        cap(pc.events, 2000);
      });
    }
  };
  setInterval(() => {
    const video = document.querySelector('[data-testid=remote-video]');
    if (video && video.srcObject) arm(video);
    const call = window.peercallCall;
    if (call && call !== subscribed) { subscribed = call; subscribe(call); }
    const text = (id) => document.querySelector(`[data-testid=${id}]`)?.textContent ?? '';
    const ended = document.querySelector('[data-testid=ended-screen]');
    const error = document.querySelector('[data-testid=error]');
    let status = ended && !ended.hidden ? `[ended] ${text('ended-detail')}` : text('status');
    if (error && !error.hidden && error.textContent) status += ` [error] ${error.textContent}`;
    if (status !== lastStatus) {
      lastStatus = status;
      pc.status.push({ t: Date.now(), text: status });
      cap(pc.status, 2000);
    }
  }, 25);
})();
"""


# Media "flows again" at the first frame that ends the outage gap and starts a sustained run.
GAP_MS = 300.0  # a pause between frames at least this long is an outage (normal: 33-100 ms)
SUSTAIN_FRAMES = 5  # ... and at least this many frames ...
SUSTAIN_WINDOW_MS = 1000.0  # ... within this long after it (not one stray frame)
UNINTERRUPTED_WINDOW_MS = 3000.0  # no outage gap for this long after a change: never interrupted


def now_ms() -> float:
    """The host clock in the unit and epoch of the page's ``Date.now()``."""
    return time.time() * 1000


def recovery_frame(
    frames: list[float],
    after_ms: float,
    now: float,
    *,
    gap_ms: float = GAP_MS,
    sustain: int = SUSTAIN_FRAMES,
    window_ms: float = SUSTAIN_WINDOW_MS,
) -> float | None:
    """The stamp of the first frame after ``after_ms`` that follows a gap and starts sustained flow.

    Frames still in the jitter buffer when a fault starts (they trickle in for ~100 ms) and a
    single stray frame are not recovery. ``frames`` must be sorted and start before the gap.
    None: not (yet) recovered as of ``now``.
    """
    for i, stamp in enumerate(frames):
        if stamp <= after_ms or (i > 0 and stamp - frames[i - 1] < gap_ms):
            continue
        run = sum(1 for t in frames[i : i + sustain] if t < stamp + window_ms)
        if run >= sustain:
            return stamp
        if now < stamp + window_ms:
            return None  # the run may still grow: decide later
    return None


def uninterrupted(
    frames: list[float], after_ms: float, now: float, *, window_ms: float = UNINTERRUPTED_WINDOW_MS
) -> bool:
    """Frames kept coming through ``after_ms`` with no outage gap for ``window_ms``.

    The best case of a network change: the peer that moved switched paths faster than the
    jitter buffer drained, so this side never paused (there is no "first frame after a gap").
    """
    if now < after_ms + window_ms:
        return False
    return max_gap(frames, after_ms - GAP_MS, after_ms + window_ms) < GAP_MS


def max_gap(frames: list[float], start_ms: float, end_ms: float) -> float:
    """The longest time without a frame within [start_ms, end_ms] (edges count as frames)."""
    points = [start_ms, *(t for t in frames if start_ms < t < end_ms), end_ms]
    return max(b - a for a, b in itertools.pairwise(points))


@dataclass
class CallSide:
    """One participant: its host namespace, browser and call page."""

    host: Host
    browser: Browser
    page: Page
    console: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.host.label

    async def frames_between(self, start_ms: float, end_ms: float = float("inf")) -> list[float]:
        """Page-clock stamps of remote video frames presented in [start_ms, end_ms)."""
        end = None if end_ms == float("inf") else end_ms
        stamps: list[float] = await self.page.evaluate(
            "([s, e]) => window.__pc.frames.filter((t) => t >= s && (e === null || t < e))", [start_ms, end]
        )
        return stamps

    async def first_frame_after(self, start_ms: float, timeout_s: float) -> float | None:
        """Stamp of the first remote frame presented after ``start_ms``; None if none within the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            found: float | None = await self.page.evaluate(
                "(s) => window.__pc.frames.find((t) => t > s) ?? null", start_ms
            )
            if found is not None or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def wait_recovery(
        self, after_ms: float, timeout_s: float, *, may_be_uninterrupted: bool = False
    ) -> float | None:
        """Milliseconds from ``after_ms`` (e.g. link up) to media flowing again (see :func:`recovery_frame`).

        With ``may_be_uninterrupted`` (a change that need not cut this side's media), video
        that never paused counts as recovered at 0 ms (see :func:`uninterrupted`).
        None when it did not recover within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            frames = await self.frames_between(after_ms - 10 * GAP_MS)
            now = now_ms()
            found = recovery_frame(frames, after_ms, now)
            if found is not None:
                return found - after_ms
            if may_be_uninterrupted and uninterrupted(frames, after_ms, now):
                return 0.0
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.1)

    async def wait_frames(self, count: int, timeout_s: float, since_ms: float | None = None) -> int:
        """Wait until ``count`` frames were presented since ``since_ms`` (default: now); returns the number seen."""
        since = now_ms() if since_ms is None else since_ms
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            seen = len(await self.frames_between(since))
            if seen >= count:
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{self.label}: {seen}/{count} remote frames within {timeout_s} s\n{await self.timeline()}"
        )

    async def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.page.evaluate("() => window.__pc.events")
        return result

    async def status_log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.page.evaluate("() => window.__pc.status")
        return result

    async def status(self) -> str:
        log = await self.status_log()
        return str(log[-1]["text"]) if log else ""

    async def ended(self) -> bool:
        return bool(await self.page.evaluate("() => !document.querySelector('[data-testid=ended-screen]').hidden"))

    async def timeline(self, since_ms: float = 0) -> str:
        """Events and status changes since ``since_ms``, one per line, for failure messages and logs."""
        try:
            events, status = await self.events(), await self.status_log()
        except Exception as exc:  # the page may be gone; the timeline is diagnostics only
            return f"[{self.label}] (no timeline: {exc})"
        rows = [(e["t"], "event", {k: v for k, v in e.items() if k != "t"}) for e in events if e["t"] >= since_ms]
        rows += [(s["t"], "status", s["text"]) for s in status if s["t"] >= since_ms]
        rows.sort(key=lambda row: row[0])
        base = since_ms or (rows[0][0] if rows else 0)
        lines = [f"[{self.label}] {(t - base) / 1000:+8.3f}s {kind}: {what}" for t, kind, what in rows]
        return "\n".join(lines + self.console[-10:])


# The local ICE ufrag of the selected candidate pair: it changes when an ICE restart (or a
# new peer connection) succeeds, which proves offers/answers are relayed again.
LOCAL_UFRAG_JS = """
async () => {
  const report = window.peercallCall && await window.peercallCall.getStats();
  if (!report) return null;
  let pairId = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  const local = pair && report.get(pair.localCandidateId);
  return local ? (local.usernameFragment ?? null) : null;
}
"""


async def api_get(server: ServerProcess, path: str) -> httpx.Response:
    """One dashboard REST GET without blocking the event loop the browsers are driven from."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=5) as client:
        return await client.get(path)


async def wait_participants(server: ServerProcess, room: str, count: int, timeout_s: float) -> list[str]:
    """Poll ``GET /api/rooms/{id}`` until it lists ``count`` live participants; returns their identities."""
    deadline = time.monotonic() + timeout_s
    seen = "no answer"
    while True:
        try:
            response = await api_get(server, f"/api/rooms/{room}")
            seen = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code == 200:
                identities = sorted(p["identity"] for p in response.json()["participants"])
                if len(identities) >= count:
                    return identities
        except httpx.HTTPError as exc:
            seen = repr(exc)
        if time.monotonic() > deadline:
            raise AssertionError(f"room {room}: not {count} participants after {timeout_s} s; last: {seen}")
        await asyncio.sleep(0.2)


@dataclass
class NetCall:
    """A joined call: the room, and one :class:`CallSide` per host label."""

    server: ServerProcess
    room: str
    sides: dict[str, CallSide]

    def __getitem__(self, label: str) -> CallSide:
        return self.sides[label]

    async def timelines(self, since_ms: float = 0) -> str:
        return "\n".join([await side.timeline(since_ms) for side in self.sides.values()])


async def launch_in(playwright: Playwright, host: Host, extra_args: list[str] | None = None) -> Browser:
    """Debian Chromium inside the host's namespace (through its wrapper script)."""
    return await playwright.chromium.launch(
        executable_path=str(host.chromium), args=[*CHROMIUM_ARGS, *(extra_args or [])], timeout=30_000
    )


async def open_page(browser: Browser, side_label: str, console: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 640, "height": 480})
    await context.add_init_script(PAGE_MONITOR_JS)
    page = await context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        # Errors and warnings, each distinct text once (a retry loop repeats the same one).
        line = f"[{side_label}] console.{msg.type}: {msg.text}"
        if msg.type in ("error", "warning") and line not in console and len(console) < 200:
            console.append(line)

    page.on("console", on_console)
    return page


async def join_call(call: NetCall, timeout_s: float = 30, names: dict[str, str] | None = None) -> None:
    """(Re)join every side to a fresh room and wait until both decode each other's video."""
    room = call.server.create_room(name="reconnect")
    call.room = room
    for number, side in enumerate(call.sides.values()):
        name = (names or {}).get(side.label, side.label.upper())
        token = call.server.token(room, f"user-{side.label}", "host" if number == 0 else "participant", name=name)
        # The token is in the fragment: leave first, or a fragment-only change would not reload.
        await side.page.goto("about:blank")
        await side.page.goto(token["join_url"] + "&autojoin=1")
    await asyncio.gather(*(side.wait_frames(15, timeout_s) for side in call.sides.values()))


async def leave_call(call: NetCall) -> None:
    """Hang up every side that is still in the call (best effort; used between bench rounds)."""
    for side in call.sides.values():
        await side.page.evaluate("() => window.peercallCall && window.peercallCall.leave('hangup')")


@asynccontextmanager
async def call_in_netns(
    topo: Topology,
    server: ServerProcess,
    labels: tuple[str, ...] = ("a", "b"),
    join_timeout_s: float = 30,
    chromium_args: tuple[str, ...] = (),
) -> AsyncIterator[NetCall]:
    """One Chromium per host namespace (with ``chromium_args`` added), joined to one room and
    decoding each other's video."""
    async with AsyncExitStack() as stack:
        playwright = await stack.enter_async_context(async_playwright())
        sides: dict[str, CallSide] = {}
        for label in labels:
            host = topo.host(label)
            # The call page is plain http on a non-loopback address: let Chromium treat it as secure.
            browser = await launch_in(
                playwright, host, [f"--unsafely-treat-insecure-origin-as-secure={server.base_url}", *chromium_args]
            )
            stack.push_async_callback(browser.close)
            console: list[str] = []
            page = await open_page(browser, label, console)
            sides[label] = CallSide(host, browser, page, console)
        call = NetCall(server, "", sides)
        try:
            await join_call(call, join_timeout_s)
        except BaseException:
            print(server.log()[-3000:])
            print(await call.timelines())
            raise
        yield call
