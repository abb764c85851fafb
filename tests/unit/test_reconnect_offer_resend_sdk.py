"""The browser SDK's PeerLink sends an unanswered offer again (under Node, fake RTCPeerConnection).

Why: an offer written into a signaling socket that was already dead (not yet noticed), or
sent while it reconnected, is lost; perfect negotiation makes no new offer while one is
pending, so recovery waited for an answer that never came (seen in CI: "Reconnecting…"
stuck after a 5 s link cut although media flowed both ways).
"""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
class FakePC {
  constructor() { this.signalingState = 'stable'; this.localDescription = null; this.remoteDescription = null;
    this.connectionState = 'new'; this.n = 0; }
  createDataChannel(label) { return { label, readyState: 'connecting', addEventListener() {}, close() {} }; }
  addTrack() {} addTransceiver() { this.#needed(); }
  #needed() { if (this.pending) return; this.pending = true;  // one event per batch, as browsers do
    queueMicrotask(() => { this.pending = false; this.onnegotiationneeded?.(); }); }
  getReceivers() { return []; } getConfiguration() { return {}; } setConfiguration() {} close() {}
  async createOffer() { this.n += 1; return { type: 'offer', sdp: `proposed-${this.n}` }; }
  async setLocalDescription(d) {
    if (d) { this.localDescription = d; this.signalingState = 'have-local-offer'; return; }
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: 'answer' }; this.signalingState = 'stable'; return; }
    this.n += 1; this.localDescription = { type: 'offer', sdp: `offer-${this.n}` };
    this.signalingState = 'have-local-offer';
  }
  async setRemoteDescription(d) { this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable'; }
  async addIceCandidate() {}
  restartIce() { if (this.signalingState === 'stable') this.#needed(); }
}
globalThis.RTCPeerConnection = FakePC;
globalThis.MediaStream = class {};
const { PeerLink } = await import(`${SDK}/peer-link.js`);
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const result = {};

// Impolite side: its offer is lost; a resend carries the applied offer; an answer ends it.
const sent = [];
const link = new PeerLink({ peerId: 'b', polite: false, iceServers: [], localStream: null, send: (f) => sent.push(f) });
await tick();
result.first = sent.map((f) => f.type + ':' + f.sdp);
result.freshSkipped = link.resendOffer(60_000) === false;
const t0 = Date.now();
while (sent.length < 2 && Date.now() - t0 < 6_000) await tick(100);  // the 4 s timer's copy
result.timerMs = Date.now() - t0;
result.resent = link.resendOffer();  // e.g. after a resume
result.sent = sent.map((f) => f.type + ':' + f.sdp);
link.handleDescription({ type: 'answer', sdp: 'their-answer' });
await tick();
result.afterAnswer = { awaiting: link.awaitingAnswer, resent: link.resendOffer() };
link.close();

// Polite side: its proposal (not applied) is what goes again; a reset offer never does.
const politeSent = [];
const options = { iceServers: [], localStream: null };
const polite = new PeerLink({ ...options, peerId: 'a', polite: true, send: (f) => politeSent.push(f) });
polite.handleDescription({ type: 'offer', sdp: 'their-offer' });
await tick();
polite.restartIce();
await tick();
result.politeResent = polite.resendOffer();
result.politeSent = politeSent.map((f) => f.type + ':' + f.sdp);
polite.close();
const resetSent = [];
const renewing = new PeerLink({ ...options, peerId: 'c', polite: false, reset: true, send: (f) => resetSent.push(f) });
await tick();
result.resetResent = renewing.resendOffer();
result.resetSent = resetSent.map((f) => f.type + ':' + Boolean(f.reset));
renewing.close();
console.log(JSON.stringify(result));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_reconnect_sdk_resends_an_unanswered_offer() -> None:
    r = run_sdk_script(SCRIPT)
    assert r["first"] == ["offer:offer-1"]
    assert r["freshSkipped"] is True and r["resent"] is True
    # A copy from the timer ~4 s after the offer, then one asked for: the same applied offer.
    assert r["sent"] == ["offer:offer-1"] * 3, r
    assert 3_000 <= r["timerMs"] <= 5_500, r
    assert r["afterAnswer"] == {"awaiting": False, "resent": False}
    # Polite: answered their offer, then proposed (unapplied) and that proposal went again.
    assert r["politeSent"] == ["answer:answer", "offer:proposed-1", "offer:proposed-1"], r
    assert r["politeResent"] is True
    assert r["resetSent"] == ["offer:true"] and r["resetResent"] is False, r
