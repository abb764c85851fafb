"""The SDK's default reconnect policy: the usual backoff (0 → 3 s, ±20 %) while the browser
is online, but an attempt every ~0.3 s while it reports no network at all — such attempts
fail inside the browser and reach no server, and the next one must catch the network's
return (bench/reconnect.py measured up to 3 s lost to the backoff after a 5 s link-down)."""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { DEFAULT_RECONNECT_POLICY: policy } = await import(`${SDK}/reconnect.js`);
const schedule = () => Array.from({ length: 12 }, (_, i) =>
  policy.nextRetryDelayMs({ attempt: i + 1, elapsedMs: i * 1000, error: null }));
const noNavigator = schedule();
Object.defineProperty(globalThis, 'navigator', { value: { onLine: true }, configurable: true });
const online = schedule();
globalThis.navigator.onLine = false;
const offline = schedule();
const givesUp = policy.nextRetryDelayMs({ attempt: 99, elapsedMs: 61_000, error: null });
console.log(JSON.stringify({ noNavigator, online, offline, givesUp }));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_reconnect_policy_polls_while_the_browser_is_offline() -> None:
    result = run_sdk_script(SCRIPT)
    for online in (result["online"], result["noNavigator"]):
        assert online[0] == 0 and 200 <= online[1] <= 300
        assert all(2400 <= ms <= 3600 for ms in online[5:]), online  # backed off to ~3 s
    offline = result["offline"]
    assert offline[0] == 0 and all(0 < ms <= 360 for ms in offline[1:]), offline
    assert max(offline[4:]) >= 240  # jittered around 300 ms, not shrinking to 0
    assert result["givesUp"] is None
