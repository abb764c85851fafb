/**
 * `call.stats`: live statistics and network quality of a call.
 *
 * Every second it samples getStats of the connection to the peer (stats.js), rates the
 * sample (quality.js), probes our own path to the call server (signaling ping RTT; the
 * probe's pings are the signaling keepalive, see access-probe.js), and
 * decides who is the problem and whether to alert (network-quality.js). Every ~2 s it sends
 * a compact `stats` frame; the server stores it in the call's timeline and forwards it to
 * the other side as `peer-stats`, so each side learns the other's level and causes.
 *
 * Events are emitted through the Call (see events.js): `statsSample`, `qualityChanged`,
 * `qualityAlert`, `qualityAlertCleared`.
 *
 * @module call-stats
 */

import { CallEvent } from './events.js';
import { AccessProbe, PROBE_FAST_MS } from './access-probe.js';
import { AlertTracker, LevelFilter, RECENT_MS, attribute } from './network-quality.js';
import { assess } from './quality.js';
import { startSampler } from './stats.js';

/**
 * @typedef {object} CallStatsHooks
 * @property {() => {peerId: string, pc: RTCPeerConnection} | null} connection the connection to rate (1:1: the first peer)
 * @property {(frame: Record<string, any>) => void} send a signaling frame
 * @property {(event: string, payload: any) => void} emit a Call event
 */

/** @typedef {{t: number, sample: import('./stats.js').StatsSample, assessment: import('./quality.js').Assessment}} HistoryEntry */

export const SAMPLE_INTERVAL_MS = 1000;
export const SEND_INTERVAL_MS = 2000;
export const HISTORY_MS = 180_000;
/** A peer summary older than this is ignored (the other side stopped reporting). */
const PEER_SUMMARY_TTL_MS = 7000;
/** The first samples are not alerted on: the bandwidth estimate is still ramping up. */
const WARMUP_SAMPLES = 5;

/** Live statistics of a call; created by the Call, read as `call.stats`. */
export class CallStats {
  #hooks;
  /** @type {HistoryEntry[]} */
  #history = [];
  /** @type {{t: number, summary: Record<string, any>} | null} */
  #peer = null;
  #probe = new AccessProbe();
  #alerts = new AlertTracker();
  #levels = { local: new LevelFilter(), remote: new LevelFilter() };
  #samples = 0;
  /** @type {{blame: import('./network-quality.js').Side, reason: string, t: number} | null} */
  #recent = null;
  #lastSent = 0;
  #lastSentKey = '';
  /** @type {{stop: () => void} | null} */
  #sampler = null;
  /** @type {RTCPeerConnection | null} */
  #pc = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #probeTimer;

  /** @param {CallStatsHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
    this.#sampler = startSampler(async () => {
      const conn = this.#hooks.connection();
      if (!conn) return null;
      if (conn.pc !== this.#pc) {
        this.#pc = conn.pc; // a new connection (recovery, rejoin): counters start over
        return { report: await conn.pc.getStats(), fresh: true };
      }
      return { report: await conn.pc.getStats(), fresh: false };
    }, (sample) => this.#onSample(sample), SAMPLE_INTERVAL_MS);
    this.#probeTimer = setInterval(() => this.#probe.tick(this.#hooks.send, this.#urgent()), PROBE_FAST_MS);
  }

  /** @returns {HistoryEntry[]} the samples of the last ~3 minutes, oldest first */
  get history() {
    return [...this.#history];
  }

  /** @returns {import('./quality.js').QualityLevel | null} our current level (null: no sample yet) */
  get localLevel() {
    return this.#levels.local.level;
  }

  /** @returns {import('./quality.js').QualityLevel | null} the other side's level, as they report it */
  get remoteLevel() {
    return this.#levels.remote.level;
  }

  /** @returns {Record<string, any> | null} the other side's latest summary */
  get peerSummary() {
    return this.#peer && Date.now() - this.#peer.t < PEER_SUMMARY_TTL_MS ? this.#peer.summary : null;
  }

  /** @returns {'ok' | 'unstable' | 'unknown'} our path to the call server */
  get access() {
    return this.#probe.state;
  }

  /** @param {'local' | 'remote' | 'path'} side @returns {boolean} an alert is raised for that side */
  alertActive(side) {
    return this.#alerts.active(side);
  }

  /** A problem to attribute: ours or theirs is poor (then the server-path probe runs fast). */
  #urgent() {
    const last = this.#history.at(-1)?.assessment.level;
    const theirs = this.peerSummary?.level;
    return last === 'poor' || last === 'lost' || theirs === 'poor' || theirs === 'lost';
  }

  /** @param {Record<string, any>} frame a `pong` frame (our probe's answer) */
  handlePong(frame) {
    this.#probe.pong(frame);
  }

  /** @param {Record<string, any>} frame a `peer-stats` frame */
  handlePeerStats(frame) {
    const summary = frame.summary;
    if (!summary || typeof summary !== 'object') return;
    this.#peer = { t: Date.now(), summary };
    if (typeof summary.level === 'string' && this.#levels.remote.push(summary.level)) {
      this.#hooks.emit(CallEvent.QualityChanged, { side: 'remote', level: summary.level, causes: summary.causes ?? [] });
    }
  }

  /** @param {import('./stats.js').StatsSample} sample */
  #onSample(sample) {
    const assessment = assess(sample);
    const now = sample.t;
    this.#samples += 1;
    this.#history.push({ t: now, sample, assessment });
    while (this.#history.length && now - this.#history[0].t > HISTORY_MS) this.#history.shift();
    this.#hooks.emit(CallEvent.StatsSample, { sample, assessment });
    if (this.#levels.local.push(assessment.level)) {
      this.#hooks.emit(CallEvent.QualityChanged, { side: 'local', level: assessment.level, causes: assessment.causes });
    }
    if (this.#samples > WARMUP_SAMPLES || assessment.level === 'lost') {
      const recent = this.#recent && now - this.#recent.t < RECENT_MS ? this.#recent : null;
      const who = attribute(assessment, this.#probe.state, /** @type {any} */ (this.peerSummary), recent);
      if (who.blame && !who.recovering && (who.reason === 'unstable' || who.reason === 'path')) {
        this.#recent = { blame: who.blame, reason: who.reason, t: now };
      }
      for (const change of this.#alerts.update(who)) {
        const event = change.raised ? CallEvent.QualityAlert : CallEvent.QualityAlertCleared;
        this.#hooks.emit(event, { side: change.side, causes: change.causes, reason: change.reason });
      }
    }
    // Every ~2 s; sooner (within the server's 1/s limit) when our level or access changed,
    // so the other side learns of a problem without waiting for the next report.
    const key = `${assessment.level}/${this.#probe.state}`;
    const since = now - this.#lastSent;
    if (since >= SEND_INTERVAL_MS - 100 || (key !== this.#lastSentKey && since >= 950)) {
      this.#lastSent = now;
      this.#lastSentKey = key;
      this.#hooks.send(summaryFrame(sample, assessment, this.#probe.state));
    }
  }

  /** Stop sampling (the call ended). */
  stop() {
    this.#sampler?.stop();
    this.#probe.stop();
    clearInterval(this.#probeTimer);
  }
}

const WIRE_FIELDS = /** @type {const} */ ([
  'rtt_ms', 'jitter_ms', 'jitter_out_ms', 'loss_in', 'loss_out', 'packets_in', 'kbps_in', 'kbps_out', 'avail_out_kbps',
  'fps_in', 'fps_out', 'width_in', 'height_in', 'width_out', 'height_out', 'freeze_in', 'limitation',
]);

/**
 * The `stats` frame (docs/protocol.md): our level, causes per direction, and the figures.
 * @param {import('./stats.js').StatsSample} sample
 * @param {import('./quality.js').Assessment} a
 * @param {'ok' | 'unstable' | 'unknown'} access
 */
export function summaryFrame(sample, a, access) {
  /** @type {Record<string, any>} */
  const figures = {};
  for (const key of WIRE_FIELDS) if (sample[key] !== null && sample[key] !== undefined) figures[key] = sample[key];
  if (sample.pair) figures.pair = sample.pair;
  return {
    type: 'stats',
    level: a.level,
    mos: a.mos === null ? null : Math.round(a.mos * 100) / 100,
    causes: a.causes,
    recv_level: a.recv.level,
    send_level: a.send.level,
    recv_causes: a.recv.causes,
    send_causes: a.send.causes,
    access,
    sample: figures,
  };
}
