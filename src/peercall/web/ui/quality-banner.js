/**
 * The call page's network-quality banner: "Your connection is unstable (packet loss)",
 * "Ana's upload is too slow", … from the SDK's `qualityAlert` / `qualityAlertCleared`
 * events (the SDK decides whose problem it is and debounces; this only words it).
 *
 * The banner element is created here and placed on the call stage, so the page markup
 * does not change.
 */

import { CallEvent } from '/sdk/peercall.js';

/** @type {Record<string, string>} */
const CAUSE_TEXT = {
  loss: 'packet loss',
  latency: 'high latency',
  jitter: 'jitter',
  bandwidth: 'low bandwidth',
  cpu: 'device overloaded',
  freeze: 'video freezing',
  framerate: 'low frame rate',
  no_media: 'nothing is getting through',
};

/** @param {string[]} causes */
export function causeText(causes) {
  const words = causes.map((c) => CAUSE_TEXT[c]).filter(Boolean).slice(0, 2);
  return words.length ? ` (${words.join(', ')})` : '';
}

/**
 * The sentence for one alert.
 * @param {{side: string, reason: string, causes: string[]}} alert
 * @param {string} name the other person's name ('' when unknown)
 */
export function alertText({ side, reason, causes }, name) {
  const them = name || 'The other person';
  if (side === 'local') {
    if (reason === 'cpu') return 'Your device is overloaded: it is limiting your video.';
    if (reason === 'upload') return 'Your upload is too slow: your video is sent at reduced quality.';
    return `Your connection is unstable${causeText(causes)}.`;
  }
  if (side === 'remote') {
    if (reason === 'cpu') return `${them}'s device is overloaded: their video is reduced.`;
    if (reason === 'upload') return `${them}'s upload is too slow: their video is reduced.`;
    return `${them}'s connection is unstable${causeText(causes)}.`;
  }
  return `The connection between you is unstable${causeText(causes)}.`;
}

/**
 * Show the call's quality alerts in a banner on the stage.
 * @param {import('/sdk/peercall.js').Call} call
 * @param {HTMLElement} stage
 * @returns {HTMLElement} the banner
 */
export function setupQualityBanner(call, stage) {
  const banner = document.createElement('p');
  banner.className = 'pc-quality';
  banner.dataset.testid = 'quality-banner';
  banner.setAttribute('role', 'status');
  banner.setAttribute('aria-live', 'polite');
  banner.hidden = true;
  stage.append(banner);
  /** @type {Map<string, {side: string, reason: string, causes: string[]}>} */
  const active = new Map();
  const render = () => {
    const peer = [...call.peers.values()].find((p) => p.role !== 'recorder'); // the person, not the server's recorder
    // Ours first: it is the one the user can act on. "Between you" only while no side is named.
    const sides = active.has('local') || active.has('remote') ? ['local', 'remote'] : ['path'];
    const shown = sides.map((side) => active.get(side)).filter(Boolean);
    banner.hidden = shown.length === 0;
    banner.textContent = shown.map((alert) => alertText(/** @type {any} */ (alert), peer?.name ?? '')).join(' ');
    banner.dataset.side = shown.length ? /** @type {any} */ (shown[0]).side : '';
  };
  call.on(CallEvent.QualityAlert, (alert) => { active.set(alert.side, alert); render(); });
  call.on(CallEvent.QualityAlertCleared, ({ side }) => { active.delete(side); render(); });
  call.on(CallEvent.Ended, () => { active.clear(); render(); });
  return banner;
}
