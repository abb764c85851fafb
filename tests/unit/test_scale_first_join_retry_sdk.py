"""The browser SDK's first join tries again after a refusal-for-now (draining, server_busy,
hub_unavailable, too_many_connections) with the reconnect policy's delays, at least 250 ms apart, for at most
15 s; any other failure, or a policy that never retries, is reported at once."""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { firstJoin, DEFAULT_RECONNECT_POLICY, NO_RECONNECT, FIRST_JOIN_WINDOW_MS } = await import(`${SDK}/reconnect.js`);
const { PeercallError } = await import(`${SDK}/errors.js`);
let now = 1_000_000;
Date.now = () => now;
const waits = [];
const sleep = async (ms) => { waits.push(ms); now += ms; };
const failing = (codes) => {
  let calls = 0;
  return { get calls() { return calls; }, connect: async () => {
    const code = codes[calls++];
    if (code) throw new PeercallError(code, code, { fatal: true });
    return 'session';
  } };
};
const outcome = async (codes, policy = DEFAULT_RECONNECT_POLICY) => {
  waits.length = 0;
  const c = failing(codes);
  try {
    return { result: await firstJoin(c.connect, policy, sleep), calls: c.calls, waits: [...waits] };
  } catch (err) {
    return { error: err.code, calls: c.calls, waits: [...waits] };
  }
};
console.log(JSON.stringify({
  recovers: await outcome(['draining', 'server_busy', 'hub_unavailable', 'too_many_connections']),
  fatal: await outcome(['room_not_found']),
  abuse: await outcome(['rate_limit_abuse']),
  network: await outcome(['connection_failed']),
  noRetry: await outcome(['server_busy'], NO_RECONNECT),
  forever: await outcome(Array(1000).fill('server_busy')),
  window: FIRST_JOIN_WINDOW_MS,
}));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_scale_sdk_first_join_retries_refusals_for_now() -> None:
    out = run_sdk_script(SCRIPT)
    assert out["recovers"]["result"] == "session" and out["recovers"]["calls"] == 5
    assert all(wait >= 250 for wait in out["recovers"]["waits"])
    for case in ("fatal", "network", "abuse"):
        assert out[case]["calls"] == 1 and out[case]["waits"] == [], out[case]
    assert out["fatal"]["error"] == "room_not_found"
    assert out["noRetry"] == {"error": "server_busy", "calls": 1, "waits": []}
    forever = out["forever"]
    assert forever["error"] == "server_busy" and 5 < forever["calls"] < 20
    assert sum(forever["waits"]) <= out["window"] and sum(forever["waits"]) > out["window"] - 4_000
