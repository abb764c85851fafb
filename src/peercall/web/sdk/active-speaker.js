/**
 * Active speaker detection for group calls: who is talking now, from the audio level of each
 * remote member's incoming audio. Reads `RTCRtpReceiver.getSynchronizationSources()` (the
 * level of the last packets, no `getStats` round trip), smooths it and keeps the speaker for
 * a moment after they pause so the highlight does not flicker between words.
 *
 * @module active-speaker
 */

const SAMPLE_MS = 250;
/** Audio level (0..1, linear) above which a member counts as speaking (~ -36 dBov). */
export const SPEAKING_LEVEL = 0.015;
/** The current speaker keeps the highlight this long after falling silent. */
const HOLD_MS = 1_200;

/**
 * @typedef {object} ActiveSpeakerHooks
 * @property {() => Map<string, RTCPeerConnection>} connections remote peer id → connection
 * @property {(payload: {peerId: string | null, levels: Record<string, number>}) => void} changed
 */

/**
 * The loudest speaking member among `levels`, or null.
 * @param {Record<string, number>} levels smoothed levels by peer id
 * @returns {string | null}
 */
export function loudest(levels) {
  let best = null;
  let max = SPEAKING_LEVEL;
  for (const [peerId, level] of Object.entries(levels)) {
    if (level > max) {
      max = level;
      best = peerId;
    }
  }
  return best;
}

/** Samples the members' audio levels; emits when the active speaker changes. */
export class ActiveSpeaker {
  #hooks;
  /** @type {Record<string, number>} */
  #levels = {};
  /** @type {string | null} */
  #speaker = null;
  #lastHeard = 0;
  #timer;

  /** @param {ActiveSpeakerHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  /** @returns {string | null} the peer id of the member speaking now */
  get peerId() {
    return this.#speaker;
  }

  /** @returns {Record<string, number>} smoothed audio level per member (0..1) */
  get levels() {
    return { ...this.#levels };
  }

  stop() {
    clearInterval(this.#timer);
  }

  #sample() {
    /** @type {Record<string, number>} */
    const levels = {};
    for (const [peerId, pc] of this.#hooks.connections()) {
      const receiver = pc.getReceivers().find((r) => r.track?.kind === 'audio');
      const level = receiver?.getSynchronizationSources?.()[0]?.audioLevel ?? 0;
      // Fast attack, slow release: a syllable lights the tile, a short breath does not clear it.
      const previous = this.#levels[peerId] ?? 0;
      levels[peerId] = level > previous ? level : previous * 0.6 + level * 0.4;
    }
    this.#levels = levels;
    const now = Date.now();
    const candidate = loudest(levels);
    if (candidate) this.#lastHeard = now;
    const next = candidate ?? (now - this.#lastHeard < HOLD_MS && this.#speaker !== null && this.#speaker in levels ? this.#speaker : null);
    if (next !== this.#speaker) {
      this.#speaker = next;
      this.#hooks.changed({ peerId: next, levels: { ...levels } });
    }
  }
}
