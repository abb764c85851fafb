/**
 * The server-path probe: how healthy is *our own* network? (network-quality.js uses it to
 * tell which side of a peer-to-peer path is the problem; see docs/quality.md.)
 *
 * @module access-probe
 */

export const PROBE_FAST_MS = 250;
/** While our path is not known to be fine (the first 3 results, or `unstable`). */
export const PROBE_CHECK_MS = 1000;
/**
 * Calm and fine: the keepalive's pace (signal-client.js `PING_INTERVAL_MS`). These pings ARE
 * the keepalive (the signaling client adds `ack` and skips its own), so a calm client sends
 * one ping stream, not two.
 */
export const PROBE_CALM_MS = 5000;
const PROBE_WINDOW = 8;
const PROBE_TIMEOUT_MS = 2000;
/** A pong this much slower than the best RTT seen is a spike. */
const SPIKE_MS = 150;
const LAG_TICK_MS = 50;
const STALL_MS = 40;

/**
 * Our own path to the call server: a ping every 5 s (doubling as the signaling keepalive),
 * every 250 ms while the call has a problem to attribute, every second while our path is
 * not known to be fine (the first results of a call, so the best RTT and the state are
 * known within ~2 s; and while `unstable`, so it clears within seconds of the network
 * recovering and not after 8 calm pings). RTT spikes (TCP retransmissions, queues) and
 * timeouts mean trouble. A probe during which our own main thread stalled (a busy machine
 * delays the pong's handler, not the network) is not counted.
 */
export class AccessProbe {
  /** @type {Map<number, number>} ping ts → sent at */
  #pending = new Map();
  /** @type {boolean[]} last results, true = bad */
  #window = [];
  #baseline = Infinity;
  #lastStallAt = 0;
  #lastPingAt = 0;
  #lagTick = Date.now();
  #lagTimer = setInterval(() => {
    const now = Date.now();
    if (now - this.#lagTick > LAG_TICK_MS + STALL_MS) this.#lastStallAt = now;
    this.#lagTick = now;
  }, LAG_TICK_MS);

  stop() {
    clearInterval(this.#lagTimer);
  }

  /**
   * Called every {@link PROBE_FAST_MS}: expire unanswered pings, send the next one when due.
   * @param {(frame: Record<string, any>) => void} send @param {boolean} urgent the call has a problem to attribute
   */
  tick(send, urgent) {
    const now = Date.now();
    for (const [ts, sentAt] of this.#pending) {
      if (now - sentAt > PROBE_TIMEOUT_MS) {
        this.#pending.delete(ts);
        if (this.#lastStallAt < ts) this.#push(true); // no answer in 2 s (unless we were the ones stalled)
      }
    }
    const every = urgent ? PROBE_FAST_MS : this.state === 'ok' ? PROBE_CALM_MS : PROBE_CHECK_MS;
    if (now - this.#lastPingAt < every - 20) return;
    if (this.#pending.size < PROBE_TIMEOUT_MS / PROBE_FAST_MS) {
      this.#lastPingAt = now;
      this.#pending.set(now, now);
      send({ type: 'ping', ts: now });
    }
  }

  /** @param {Record<string, any>} frame a `pong` */
  pong(frame) {
    const ts = Number(frame.ts);
    if (!this.#pending.has(ts)) return;
    this.#pending.delete(ts);
    const now = Date.now();
    const rtt = now - ts;
    this.#baseline = Math.min(this.#baseline, rtt);
    if (this.#lastStallAt >= ts) return; // we were stalled, not the network
    this.#push(rtt > this.#baseline + Math.max(SPIKE_MS, this.#baseline));
  }

  /** @param {boolean} bad */
  #push(bad) {
    this.#window.push(bad);
    if (this.#window.length > PROBE_WINDOW) this.#window.shift();
  }

  /** @returns {'ok' | 'unstable' | 'unknown'} */
  get state() {
    if (this.#window.length < 3) return 'unknown';
    return this.#window.filter(Boolean).length >= 2 ? 'unstable' : 'ok';
  }
}
