"""The browser SDK's signaling client on a `drain` frame, under Node with a fake WebSocket:
it closes the socket within the frame's window with the retryable error `draining` (the
Call then resumes through the balancer, on another node)."""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
class FakeWS {
  static last = null;
  constructor(url) { this.url = url; this.readyState = 0; this.bufferedAmount = 0; this.sent = []; FakeWS.last = this;
    setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0); }
  send(data) { this.sent.push(JSON.parse(data));
    const joined = { type: 'joined', v: 1, peer_id: 'p_1', room_id: 'r', resume_token: 'r.p_1.secret' };
    if (this.sent.length === 1) setTimeout(() => this.push(joined), 0); }
  push(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  close(code = 1000, reason = '') {
    this.closedWith = [code, reason]; this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 0); }
}
globalThis.WebSocket = FakeWS;
const { SignalClient } = await import(`${SDK}/signal-client.js`);
const { isReconnectable } = await import(`${SDK}/reconnect.js`);
const client = new SignalClient('ws://x/ws');
await client.connect('token');
const frames = [];
client.on('frame', (f) => frames.push(f.type));
const closed = new Promise((resolve) => client.on('close', resolve));
const t0 = Date.now();
FakeWS.last.push({ type: 'drain', reconnect_within_ms: 200 });
const event = await closed;
const ms = Date.now() - t0;
const reconnectable = isReconnectable(event.error);
const closedWith = FakeWS.last.closedWith;
const { expected, error } = event;
console.log(JSON.stringify({ ms, code: error?.code, reconnectable, expected, closedWith, frames }));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_reconnect_sdk_moves_on_drain_within_the_window() -> None:
    result = run_sdk_script(SCRIPT)
    assert result["code"] == "draining" and result["reconnectable"] is True and result["expected"] is False
    assert result["closedWith"] == [4000, "draining"] and result["frames"] == ["drain"]
    assert result["ms"] <= 200 + 500  # a random moment within the 200 ms window (plus timer slack)
