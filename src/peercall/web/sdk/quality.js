/**
 * The call-quality model: one stats sample (see stats.js) in, a level and its causes out.
 *
 * Pure and dependency-free on purpose: the same model runs in Python
 * (`peercall/quality/model.py`, used by the server for summaries and histograms) and the
 * tests feed both the same recorded samples and require identical answers. Formulas,
 * thresholds and the reasons for them are in docs/quality.md; change both files together.
 *
 * - Audio: a simplified ITU-T G.107 E-model. Delay impairment from one-way delay
 *   (RTT/2 + 2 × jitter + 20 ms codec/buffer), loss impairment
 *   `Ie_eff = 95 × P / (P + Bpl)` with Bpl = 20 (Opus with PLC), R → MOS by G.107 Annex B.
 * - Video: received frame rate and freezes; what we send against what we could send
 *   (`qualityLimitationReason`, frame rate, height).
 * - Each direction gets a level; the sample's level is the worse of the two.
 *
 * @module quality
 */

/** @typedef {'excellent' | 'good' | 'poor' | 'lost'} QualityLevel */
/** @typedef {'loss' | 'latency' | 'jitter' | 'bandwidth' | 'cpu' | 'freeze' | 'framerate' | 'no_media'} QualityCause */

/**
 * @typedef {object} DirectionQuality
 * @property {QualityLevel} level
 * @property {number | null} mos audio MOS estimate (1–4.5) of this direction; null when unknown
 * @property {QualityCause[]} causes what pulled the level below `good` (empty when good or better)
 */

/**
 * @typedef {object} Assessment
 * @property {QualityLevel} level the worse of `recv` and `send`
 * @property {number | null} mos the lower of the two directions' MOS
 * @property {QualityCause[]} causes union of both directions' causes
 * @property {DirectionQuality} recv what we receive (measured here)
 * @property {DirectionQuality} send what we send (as the other side's receiver reports tell us)
 */

export const MOS_EXCELLENT = 4.0;
export const MOS_GOOD = 3.5;
export const LOSS_BPL = 20;
export const CODEC_DELAY_MS = 20;
export const JITTER_CAUSE_MS = 50;
export const FPS_POOR = 8;
export const FPS_GOOD = 15;
export const HEIGHT_GOOD = 240;
export const FREEZE_POOR = 0.3;
export const FREEZE_GOOD = 0.05;
export const SEND_KBPS_POOR = 150;
/**
 * A bandwidth estimate this high carries a talking head: an encoder still starved under it is
 * ramping up (libwebrtc reports its start-up downscaling as `bandwidth`), not held back by the uplink.
 */
export const ESTIMATE_AMPLE_KBPS = 500;

/** @type {QualityLevel[]} worst first */
export const LEVELS = ['lost', 'poor', 'good', 'excellent'];

/** @param {QualityLevel} a @param {QualityLevel} b @returns {QualityLevel} */
export const worse = (a, b) => (LEVELS.indexOf(a) <= LEVELS.indexOf(b) ? a : b);

/** @param {unknown} value @returns {number | null} */
const num = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** R factor → MOS (ITU-T G.107 Annex B). @param {number} r */
export function rToMos(r) {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

/**
 * Simplified E-model. Returns the MOS and which impairment would, alone, drop it below good.
 * @param {number | null} rttMs @param {number | null} jitterMs @param {number | null} loss fraction 0–1
 * @returns {{mos: number, causes: QualityCause[]}}
 */
export function emodel(rttMs, jitterMs, loss) {
  const delay = (rttMs ?? 0) / 2 + 2 * (jitterMs ?? 0) + CODEC_DELAY_MS;
  const id = delay < 160 ? delay / 40 : (delay - 120) / 10;
  const ppl = Math.min(Math.max(loss ?? 0, 0), 1) * 100;
  const ie = (95 * ppl) / (ppl + LOSS_BPL);
  const mos = rToMos(93.2 - id - ie);
  /** @type {QualityCause[]} */
  const causes = [];
  if (mos < MOS_GOOD) {
    if (rToMos(93.2 - ie) < MOS_GOOD || ie >= id) causes.push('loss');
    const rttOnly = (rttMs ?? 0) / 2 + CODEC_DELAY_MS;
    if (rToMos(93.2 - (rttOnly < 160 ? rttOnly / 40 : (rttOnly - 120) / 10)) < MOS_GOOD) causes.push('latency');
    if ((jitterMs ?? 0) >= JITTER_CAUSE_MS) causes.push('jitter');
    if (causes.length === 0) causes.push(id > ie ? 'latency' : 'loss');
  }
  return { mos, causes };
}

/** @param {number} mos @returns {QualityLevel} */
export const mosLevel = (mos) => (mos >= MOS_EXCELLENT ? 'excellent' : mos >= MOS_GOOD ? 'good' : 'poor');

/**
 * What we receive: audio E-model on our measured loss and jitter, video frame rate and freezes.
 * @param {Record<string, any>} s @returns {DirectionQuality}
 */
export function assessRecv(s) {
  if (num(s.packets_in) === 0) return { level: 'lost', mos: null, causes: ['no_media'] };
  const audio = emodel(num(s.rtt_ms), num(s.jitter_ms), num(s.loss_in));
  /** @type {QualityLevel} */
  let level = mosLevel(audio.mos);
  const causes = [...audio.causes];
  const fps = num(s.fps_in);
  if (fps !== null) {
    const frozen = num(s.freeze_in) ?? 0;
    /** @type {QualityLevel} */
    let video = 'excellent';
    if (frozen >= FREEZE_POOR) video = 'poor';
    else if (fps < FPS_POOR) video = 'poor';
    else if (frozen >= FREEZE_GOOD || fps < FPS_GOOD || (num(s.height_in) ?? HEIGHT_GOOD) < HEIGHT_GOOD) video = 'good';
    if (video === 'poor') causes.push(frozen >= FREEZE_POOR ? 'freeze' : 'framerate');
    level = worse(level, video);
  }
  return { level, mos: audio.mos, causes: level === 'poor' ? dedupe(causes) : [] };
}

/**
 * What we send: audio E-model on the loss the other side reports, and whether our video is
 * held back by bandwidth or CPU.
 * @param {Record<string, any>} s @returns {DirectionQuality}
 */
export function assessSend(s) {
  const lossOut = num(s.loss_out);
  const audio = lossOut === null ? null : emodel(num(s.rtt_ms), num(s.jitter_out_ms), lossOut);
  /** @type {QualityLevel} */
  let level = audio ? mosLevel(audio.mos) : 'excellent';
  const causes = audio ? [...audio.causes] : [];
  const limitation = s.limitation;
  if ((limitation === 'bandwidth' || limitation === 'cpu') && num(s.fps_out) !== null) {
    const starved = ((num(s.fps_out) ?? 0) < FPS_POOR || (num(s.height_out) ?? 0) < HEIGHT_GOOD / 2
      || (num(s.kbps_out) ?? 0) < SEND_KBPS_POOR)
      && !(limitation === 'bandwidth' && (num(s.avail_out_kbps) ?? 0) >= ESTIMATE_AMPLE_KBPS);
    const video = starved ? 'poor' : 'good';
    if (starved) causes.push(limitation);
    level = worse(level, video);
  }
  return { level, mos: audio ? audio.mos : null, causes: level === 'poor' ? dedupe(causes) : [] };
}

/**
 * The model: one sample in, one assessment out.
 * @param {Record<string, any>} sample a stats sample (stats.js `StatsSample`, snake_case fields)
 * @returns {Assessment}
 */
export function assess(sample) {
  const recv = assessRecv(sample);
  const send = assessSend(sample);
  const level = worse(recv.level, send.level);
  const moses = [recv.mos, send.mos].filter((m) => m !== null);
  return {
    level,
    mos: moses.length ? Math.min(.../** @type {number[]} */ (moses)) : null,
    causes: dedupe([...recv.causes, ...send.causes]),
    recv,
    send,
  };
}

/** @template T @param {T[]} list @returns {T[]} */
function dedupe(list) {
  return [...new Set(list)];
}
