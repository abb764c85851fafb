"""The SDK's media recovery holds our sending while the path is dead: nothing at all
received (media, RTCP, ICE checks) for 1.5 s while media was expected → the link's senders
stop; the first packet of any kind back → they resume. (A dead path's sender builds a
backlog that arrives all at once when the path returns: bench/reconnect.py --trace measured
the receiver's audio delay at ~1.5 s for ~15 s, and its video held 0.3-0.9 s.)

Under Node with a fake link whose getStats the script drives; the real timers run."""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { watchMediaRecovery, DEFAULT_MEDIA_RECOVERY } = await import(`${SDK}/media-recovery.js`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scenario({ expectsInbound = true, checksContinue = false }) {
  const state = { rtp: 1000, arrived: 10, flowing: true };
  const link = {
    connectionState: 'connected', polite: false,
    on: () => () => {},
    restartIce: () => true,
    getStats: async () => new Map([
      ['in', { type: 'inbound-rtp', kind: 'audio', bytesReceived: state.rtp }],
      ['t', { type: 'transport', packetsReceived: state.arrived }],
      ['cp', { type: 'candidate-pair', requestsReceived: 0, responsesReceived: 0 }],
    ]),
  };
  const t0 = Date.now();
  const holds = [];
  const pump = setInterval(() => {
    if (state.flowing) { state.rtp += 100; state.arrived += 5; }
    else if (checksContinue) state.arrived += 1; // ICE checks still answered; media stopped
  }, 50);
  const watch = watchMediaRecovery(link, {
    attempt: () => true, onStep: () => {}, onDone: () => {},
    canAttempt: () => false, // keep recovery attempts out of the way
    expectsInbound: () => expectsInbound,
    holdSending: (held) => holds.push([held, Date.now() - t0]),
  }, { ...DEFAULT_MEDIA_RECOVERY });
  await sleep(1000);
  state.flowing = false;
  const stoppedAt = Date.now() - t0;
  await sleep(2500);
  const beforeReturn = holds.length;
  state.arrived += 1; // one ICE check answered: the path is back
  const backAt = Date.now() - t0;
  await sleep(400);
  clearInterval(pump);
  watch.stop();
  return { holds, stoppedAt, backAt, beforeReturn };
}

const dead = await scenario({});
const silentPeer = await scenario({ expectsInbound: false });
const oneWay = await scenario({ checksContinue: true });
console.log(JSON.stringify({ dead, silentPeer, oneWay, holdAfterMs: DEFAULT_MEDIA_RECOVERY.holdSendingAfterMs }));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_reconnect_sending_is_held_while_nothing_arrives() -> None:
    result = run_sdk_script(SCRIPT)
    assert result["holdAfterMs"] == 1500
    dead = result["dead"]
    assert dead["beforeReturn"] == 1 and dead["holds"][0][0] is True
    held_after = dead["holds"][0][1] - dead["stoppedAt"]
    assert 1400 <= held_after <= 2200, dead  # 1.5 s of nothing (sampled every 100 ms)
    assert len(dead["holds"]) == 2 and dead["holds"][1][0] is False
    assert 0 <= dead["holds"][1][1] - dead["backAt"] <= 300, dead  # resumed with the first packet back
    # A peer that announced it sends nothing, or a path that still answers ICE checks: never held.
    assert result["silentPeer"]["holds"] == [] and result["oneWay"]["holds"] == []
