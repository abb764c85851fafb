"""Helpers for call-quality tests: read ``call.stats`` and its events from a call page.

:data:`STATS_MONITOR_JS` subscribes (and re-subscribes after a rejoin) to the quality
events of ``window.peercallCall`` with their full payloads, stamped with ``Date.now()``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from playwright.async_api import Page

STATS_MONITOR_JS = r"""
() => {
  if (window.__pcq) return;
  const q = window.__pcq = { events: [] };
  let subscribed = null;
  setInterval(() => {
    const call = window.peercallCall;
    if (!call || call === subscribed) return;
    subscribed = call;
    for (const name of ['qualityChanged', 'qualityAlert', 'qualityAlertCleared']) {
      call.on(name, (payload) => {
        q.events.push({ t: Date.now(), name, ...payload });
        if (q.events.length > 2000) q.events.splice(0, 1000);
      });
    }
  }, 50);
}
"""


async def install_monitor(page: Page) -> None:
    await page.evaluate(STATS_MONITOR_JS)


async def quality_events(page: Page, since_ms: float = 0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = await page.evaluate("() => window.__pcq ? window.__pcq.events : []")
    return [e for e in events if e["t"] >= since_ms]


async def stats_history(page: Page, since_ms: float = 0) -> list[dict[str, Any]]:
    """``call.stats.history`` entries (sample + the SDK's assessment) since ``since_ms``."""
    rows: list[dict[str, Any]] = await page.evaluate(
        "(since) => window.peercallCall ? window.peercallCall.stats.history.filter((h) => h.t >= since) : []",
        since_ms,
    )
    return rows


async def wait_event(page: Page, name: str, since_ms: float, timeout_s: float, **match: Any) -> dict[str, Any] | None:
    """The first quality event ``name`` after ``since_ms`` whose fields equal ``match``; None on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        for event in await quality_events(page, since_ms):
            if event["name"] == name and all(event.get(k) == v for k, v in match.items()):
                return event
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.2)
