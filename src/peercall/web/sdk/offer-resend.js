/**
 * Sends an unanswered offer again. A frame written into a signaling socket that was
 * already dead (not yet noticed), or sent while it reconnected, is lost; perfect
 * negotiation then waits for its answer forever (no new offer while one is pending), and
 * a recovery episode with it (seen in CI: "Reconnecting…" stuck after a 5 s link cut
 * while media flowed). A duplicate that did arrive is harmless: the other side answers it
 * again and the second answer is dropped as stale. Reset offers are never repeated (each
 * one renews the other side's connection).
 *
 * @module offer-resend
 */

/** An offer unanswered this long is sent again (then after 2×, 4×, … this long)… */
const ANSWER_TIMEOUT_MS = 4_000;
/** …at most this many times: a side that is away gets the copies when it is back. */
const MAX_OFFER_RESENDS = 4;
const ANSWER_CHECK_MS = 1_000;

/**
 * @typedef {object} OfferSource
 * @property {() => boolean} pending our last plain offer still waits for its answer
 * @property {() => string | null} currentSdp the offer as it stands now (an applied one
 *   carries the candidates gathered since it went), null to repeat the one sent
 * @property {(sdp: string) => void} send
 */

export class OfferResender {
  #sdp = '';
  #at = 0;
  #resends = 0;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  #source;

  /** @param {OfferSource} source */
  constructor(source) {
    this.#source = source;
  }

  /** An offer went out (`sdp` empty for a reset offer: never repeated). @param {string} sdp */
  sent(sdp) {
    this.#sdp = sdp;
    this.#at = Date.now();
    this.#resends = 0;
    this.#timer ??= setInterval(() => this.#check(), ANSWER_CHECK_MS);
  }

  /**
   * Send the pending offer again now; true when it was sent.
   * @param {number} [minAgeMs] only an offer sent at least this long ago
   */
  resend(minAgeMs = 0) {
    if (!this.#sdp || !this.#source.pending() || Date.now() - this.#at < minAgeMs) return false;
    this.#sdp = this.#source.currentSdp() ?? this.#sdp;
    this.#at = Date.now();
    this.#resends += 1;
    this.#source.send(this.#sdp);
    return true;
  }

  stop() {
    clearInterval(this.#timer);
  }

  #check() {
    if (this.#resends < MAX_OFFER_RESENDS && Date.now() - this.#at >= ANSWER_TIMEOUT_MS * 2 ** this.#resends) this.resend();
  }
}
