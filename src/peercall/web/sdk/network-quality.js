/**
 * Two-sided attribution ("whose network is the problem?") and the alert state machine.
 *
 * Pure: the CallStats object feeds it assessments and the other side's summaries; it
 * returns decisions. Why it can tell the sides apart (docs/quality.md, "Attribution"):
 *
 * - Sender-side limits are clear: our encoder held back by `bandwidth` is our
 *   upload, by `cpu` our machine; the same fields in the other side's summary are theirs.
 * - Loss and delay on a peer-to-peer path look the same from both ends. Each side also
 *   probes its *own* path to the call server (signaling ping RTT, a separate path): a side
 *   whose server path is unstable while the other's is fine owns the problem.
 * - Otherwise it is "the path between you" (`path`): end-to-end figures alone cannot
 *   place loss on one side, and a wrong "your network" is worse than an honest "the
 *   connection between you".
 *
 * Alerts use hysteresis so they do not flap: raised after {@link ALERT_ON} consecutive
 * blamed evaluations, cleared after {@link ALERT_OFF} consecutive healthy ones.
 *
 * @module network-quality
 */

/** @typedef {import('./quality.js').QualityCause} QualityCause */
/** @typedef {import('./quality.js').Assessment} Assessment */
/** @typedef {'local' | 'remote' | 'path'} Side */

/**
 * The other side's last summary (the `summary` of a `peer-stats` frame).
 * @typedef {object} PeerSummary
 * @property {import('./quality.js').QualityLevel} level
 * @property {QualityCause[]} causes
 * @property {import('./quality.js').QualityLevel} recv_level
 * @property {import('./quality.js').QualityLevel} send_level
 * @property {QualityCause[]} send_causes
 * @property {'ok' | 'unstable' | 'unknown'} access their server-path probe
 */

/**
 * @typedef {object} Attribution
 * @property {Side | null} blame who is the problem (null: no problem)
 * @property {QualityCause[]} causes
 * @property {string} reason machine-readable hint: `unstable`, `cpu`, `upload` or `path`
 * @property {boolean} [recovering] explained by a problem blamed in the last seconds (see `recent`)
 */

export const ALERT_ON = 2;
export const ALERT_OFF = 4;
/** How long a blamed unstable network explains a sender's starved bandwidth estimate. */
export const RECENT_MS = 15_000;
/** The path alert waits longer: the server-path probes usually name a side within seconds. */
export const PATH_ALERT_ON = 5;
const SENDER_LIMITS = /** @type {QualityCause[]} */ (['cpu', 'bandwidth']);

/**
 * Who is the problem right now.
 * @param {Assessment} local our assessment of the latest sample
 * @param {'ok' | 'unstable' | 'unknown'} localAccess our server-path probe
 * @param {PeerSummary | null} remote the other side's latest summary (null: unknown or stale)
 * @param {{blame: Side, reason: string} | null} [recent] an unstable network or path blamed in the
 *   last {@link RECENT_MS}: a sender still starved right after it is recovering from *that*
 *   (its bandwidth estimate collapsed with the loss and climbs back slowly), not upload-limited;
 *   and the probes suddenly naming the *other* side are not trusted at once
 * @returns {Attribution}
 */
export function attribute(local, localAccess, remote, recent = null) {
  const ownLimits = local.send.causes.filter((c) => SENDER_LIMITS.includes(c));
  const theirLimits = remote ? (remote.send_causes ?? []).filter((c) => SENDER_LIMITS.includes(c)) : [];
  const bad = (/** @type {string | undefined} */ level) => level === 'poor' || level === 'lost';
  if (!bad(local.level) && !(remote && bad(remote.level))) return { blame: null, causes: [], reason: '' };
  const causes = /** @type {QualityCause[]} */ ([...new Set([...local.causes, ...(remote?.causes ?? [])])]);
  const theirAccess = remote?.access ?? 'unknown';
  // 1. One side's own path to the server is unstable, the other's is fine: that side. Unless
  // the other side was just blamed for it: a flip within seconds is more likely the
  // aftermath (bursts, a saturated machine delaying pongs) than a second network failing.
  const probed = localAccess === 'unstable' && theirAccess !== 'unstable' ? 'local'
    : theirAccess === 'unstable' && localAccess !== 'unstable' ? 'remote' : null;
  if (probed && recent && recent.reason === 'unstable' && recent.blame !== probed) {
    return { blame: 'path', causes, reason: 'path', recovering: true };
  }
  if (probed) return { blame: probed, causes, reason: 'unstable' };
  // 2. A sender held back by its CPU or its upload bandwidth (unless still recovering from 1).
  const limited = (/** @type {QualityCause[]} */ list) => (list.includes('cpu') ? 'cpu' : 'upload');
  const onlyBandwidth = [...ownLimits, ...theirLimits].every((c) => c === 'bandwidth');
  if (recent && onlyBandwidth && (ownLimits.length || theirLimits.length)) {
    return { blame: recent.blame, causes, reason: recent.reason, recovering: true };
  }
  if (ownLimits.length) return { blame: 'local', causes: ownLimits, reason: limited(ownLimits) };
  if (theirLimits.length) return { blame: 'remote', causes: theirLimits, reason: limited(theirLimits) };
  // 3. Loss or delay that both ends see alike: the path between us, side unknown.
  return { blame: 'path', causes, reason: 'path' };
}

/**
 * One side's alert with hysteresis.
 * @typedef {{active: boolean, on: number, off: number, causes: QualityCause[], reason: string}} AlertState
 */

/** Alert bookkeeping for both sides. */
export class AlertTracker {
  /** @type {Record<Side, AlertState>} */
  #state = {
    local: { active: false, on: 0, off: 0, causes: [], reason: '' },
    remote: { active: false, on: 0, off: 0, causes: [], reason: '' },
    path: { active: false, on: 0, off: 0, causes: [], reason: '' },
  };

  /**
   * Feed one attribution; returns the alert changes it causes.
   * @param {Attribution} attribution
   * @returns {{side: Side, raised: boolean, causes: QualityCause[], reason: string}[]}
   */
  update(attribution) {
    /** @type {{side: Side, raised: boolean, causes: QualityCause[], reason: string}[]} */
    const changes = [];
    for (const side of /** @type {Side[]} */ (['local', 'remote', 'path'])) {
      const state = this.#state[side];
      if (attribution.blame === side) {
        state.on += 1;
        state.off = 0;
        state.causes = attribution.causes;
        state.reason = attribution.reason;
        if (!state.active && state.on >= (side === 'path' ? PATH_ALERT_ON : ALERT_ON)) {
          state.active = true;
          changes.push({ side, raised: true, causes: state.causes, reason: state.reason });
        }
      } else {
        state.off += 1;
        state.on = 0;
        if (state.active && state.off >= ALERT_OFF) {
          state.active = false;
          changes.push({ side, raised: false, causes: state.causes, reason: state.reason });
        }
      }
    }
    return changes;
  }

  /** @param {Side} side */
  active(side) {
    return this.#state[side].active;
  }
}

/**
 * Level smoothing: a new level is adopted once seen {@link LEVEL_HOLD} times in a row
 * (`lost` at once: nothing arrives is never a blip worth hiding).
 */
export const LEVEL_HOLD = 2;

export class LevelFilter {
  /** @type {import('./quality.js').QualityLevel | null} */
  level = null;
  /** @type {import('./quality.js').QualityLevel | null} */
  #candidate = null;
  #count = 0;

  /** @param {import('./quality.js').QualityLevel} next @returns {boolean} the level changed */
  push(next) {
    if (next === this.level) {
      this.#candidate = null;
      this.#count = 0;
      return false;
    }
    if (next !== this.#candidate) {
      this.#candidate = next;
      this.#count = 0;
    }
    this.#count += 1;
    if (this.level === null || next === 'lost' || this.#count >= LEVEL_HOLD) {
      this.level = next;
      this.#candidate = null;
      this.#count = 0;
      return true;
    }
    return false;
  }
}
