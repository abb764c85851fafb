"""One signaling ping stream per browser client (docs/quality.md, docs/protocol.md).

The browser SDK's signaling client and the Call's server-path probe (`call.stats`) run
under Node with a fake clock and a fake WebSocket that answers `ping` with `pong`, as the
server does. A calm client sends one ping per 5 s in all (the probe's pings are the
keepalive, each carrying `ack`), not a keepalive every 5 s plus a probe every second; a
call with a problem to attribute still probes every 250 ms, and its access state turns
`unstable` within about a second; the keepalive still declares a silent server dead after
12 s.
"""

from __future__ import annotations

from typing import Any

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];

// A fake clock: Date.now and the timer functions the SDK modules use.
let now = 1_000_000;
Date.now = () => now;
const timers = new Map();
let nextId = 1;
globalThis.setTimeout = (fn, ms = 0, ...args) => {
  timers.set(nextId, { at: now + Math.max(0, ms), fn, args, every: 0 });
  return nextId++;
};
globalThis.setInterval = (fn, ms = 0, ...args) => {
  timers.set(nextId, { at: now + Math.max(1, ms), fn, args, every: Math.max(1, ms) });
  return nextId++;
};
globalThis.clearTimeout = globalThis.clearInterval = (id) => { timers.delete(id); };
const flush = () => new Promise((resolve) => setImmediate(resolve));
async function advance(ms) {
  const end = now + ms;
  for (;;) {
    let next = null;
    for (const [id, t] of timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
    if (!next) break;
    const [id, t] = next;
    now = t.at;
    if (t.every) t.at += t.every; else timers.delete(id);
    t.fn(...t.args);
    await flush();
  }
  now = end;
  await flush();
}

// The server: answers `join` with `joined`, `ping` with `pong` after `rttMs`, unless silent.
const server = { rttMs: 30, silent: false, seq: 0, lastFrameAt: 0 };
const pings = []; // [t, ack, highest seq the client had]
class FakeWS {
  static last = null;
  constructor(url) { this.readyState = 0; this.bufferedAmount = 0; FakeWS.last = this;
    setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0); }
  send(data) {
    const frame = JSON.parse(data);
    const joined = { type: 'joined', v: 1, peer_id: 'p_1', room_id: 'r', resume_token: 'r.p_1.s' };
    if (frame.type === 'join') setTimeout(() => this.push(joined), 5);
    if (frame.type !== 'ping') return;
    pings.push([now, frame.ack ?? null, server.seq]);
    if (!server.silent) setTimeout(() => this.push({ type: 'pong', ts: frame.ts }), server.rttMs);
  }
  push(frame) {
    if (server.silent || this.readyState !== 1) return;
    server.lastFrameAt = now;
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  close(code = 1000, reason = '') {
    this.closedWith = [code, reason]; this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 0); }
}
globalThis.WebSocket = FakeWS;
const { SignalClient, PING_INTERVAL_MS } = await import(`${SDK}/signal-client.js`);
const { PROBE_CALM_MS } = await import(`${SDK}/access-probe.js`);
const { CallStats } = await import(`${SDK}/call-stats.js`);

/** A joined client; with `stats`, a Call's statistics sending through it (as call.js wires them). */
async function client(withStats) {
  const signal = new SignalClient('ws://x/ws');
  const joined = signal.connect('token');
  await advance(10);
  await joined;
  let stats = null;
  if (withStats) {
    stats = new CallStats({ connection: () => null, send: (f) => signal.send(f), emit: () => {} });
    signal.on('pong', (f) => stats.handlePong(f));
  }
  // Other signaling now and then, so there is a `seq` to acknowledge.
  const chatter = setInterval(() => FakeWS.last.push({ type: 'peer-media', seq: ++server.seq, peer_id: 'p_2' }), 3000);
  return { signal, stats, stop: () => { clearInterval(chatter); stats?.stop(); signal.close(); } };
}
const unacked = () => pings.filter(([, ack, seq]) => seq > 0 && ack !== seq).length;
const count = (from, to) => pings.filter(([t]) => t >= from && t < to).length;
const gaps = (from, to) => {
  const ts = pings.filter(([t]) => t >= from && t < to).map(([t]) => t);
  return ts.slice(1).map((t, i) => t - ts[i]);
};
/** Advance in steps until `check()` holds; returns the time it took (or null). */
async function until(check, maxMs, stepMs = 50) {
  const t0 = now;
  while (now - t0 <= maxMs) { if (check()) return now - t0; await advance(stepMs); }
  return null;
}
const out = { intervals: [PING_INTERVAL_MS, PROBE_CALM_MS] };

// 1. A calm call, two minutes.
{
  pings.length = 0;
  const c = await client(true);
  const t0 = now;
  out.knownAfterMs = await until(() => c.stats.access !== 'unknown', 10_000);
  await advance(125_000 - (now - t0));
  out.calm = {
    access: c.stats.access,
    firstMinute: count(t0, t0 + 60_000),
    secondMinute: count(t0 + 60_000, t0 + 120_000),
    gaps: gaps(t0 + 10_000, t0 + 125_000),
    withoutAck: unacked(),
  };

  // 2. The call turns poor (the other side says so) and our pongs are slow: urgent.
  server.rttMs = 400;
  const poorSummary = { level: 'poor', causes: ['loss'] };
  const theyArePoor = () => c.stats.handlePeerStats({ type: 'peer-stats', summary: poorSummary });
  const poor = setInterval(theyArePoor, 1000);
  theyArePoor();
  const t1 = now;
  out.unstableAfterMs = await until(() => c.stats.access === 'unstable', 5000);
  await advance(10_000 - (now - t1));
  out.urgent = { tenSeconds: count(t1, t1 + 10_000), access: c.stats.access };

  // 3. Repaired: calm again; the access state clears within seconds, then one ping per 5 s.
  clearInterval(poor);
  server.rttMs = 30;
  c.stats.handlePeerStats({ type: 'peer-stats', summary: { level: 'good', causes: [] } });
  const t2 = now;
  out.okAgainAfterMs = await until(() => c.stats.access === 'ok', 20_000);
  await advance(80_000 - (now - t2));
  out.repaired = { minute: count(t2 + 20_000, t2 + 80_000) };

  // 4. The server goes silent: the keepalive declares it dead after 12 s.
  const closed = new Promise((resolve) => c.signal.on('close', resolve));
  server.silent = true;
  const lastFrameAt = server.lastFrameAt;
  let event = null;
  closed.then((e) => { event = e; });
  await until(() => event !== null, 30_000);
  out.silent = { afterMs: now - lastFrameAt, code: event?.error?.code, closedWith: FakeWS.last.closedWith };
  c.stop();
  server.silent = false;
}

// 5. The signaling client alone (no probe): its own keepalive, with `ack`.
{
  pings.length = 0;
  const c = await client(false);
  const t0 = now;
  await advance(61_000);
  out.alone = { minute: count(t0, t0 + 60_000), gaps: gaps(t0, t0 + 61_000), withoutAck: unacked() };
  c.stop();
}
console.log(JSON.stringify(out));
process.exit(0);
"""


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    if not node_available():
        pytest.skip("node is not installed")
    out: dict[str, Any] = run_sdk_script(SCRIPT, timeout_s=120)
    return out


def test_stats_probe_calm_pace_is_the_keepalive_pace(result: dict[str, Any]) -> None:
    assert result["intervals"] == [5000, 5000]


def test_stats_calm_client_sends_one_ping_per_5_s_each_with_ack(result: dict[str, Any]) -> None:
    calm = result["calm"]
    assert calm["access"] == "ok"
    # The first pings come every second until the state is known (3 results), then every 5 s.
    assert result["knownAfterMs"] is not None and result["knownAfterMs"] <= 3000
    assert 12 <= calm["firstMinute"] <= 15
    assert calm["secondMinute"] == 12  # was 60 probe pings + 12 keepalive pings before
    assert all(4900 <= gap <= 5300 for gap in calm["gaps"]), calm["gaps"]  # never two streams
    assert calm["withoutAck"] == 0


def test_stats_urgent_call_probes_every_250_ms_and_attributes_within_a_second(result: dict[str, Any]) -> None:
    assert result["unstableAfterMs"] is not None and result["unstableAfterMs"] <= 1500
    assert 36 <= result["urgent"]["tenSeconds"] <= 41
    assert result["urgent"]["access"] == "unstable"


def test_stats_access_clears_within_seconds_after_repair_then_calm_pace(result: dict[str, Any]) -> None:
    # Not after 8 calm pings (40 s): while unstable the probe checks every second.
    assert result["okAgainAfterMs"] is not None and result["okAgainAfterMs"] <= 10_000
    assert result["repaired"]["minute"] == 12


def test_stats_silent_server_is_declared_dead_after_12_s(result: dict[str, Any]) -> None:
    silent = result["silent"]
    assert silent["code"] == "connection_lost" and silent["closedWith"] == [4000, "server silent"]
    assert 12_000 < silent["afterMs"] <= 13_000


def test_stats_signaling_client_alone_keeps_alive_with_ack(result: dict[str, Any]) -> None:
    alone = result["alone"]
    assert 10 <= alone["minute"] <= 12
    assert all(gap <= 6000 for gap in alone["gaps"]), alone["gaps"]
    assert alone["withoutAck"] == 0
