/**
 * The call page's network-quality banner: "Your connection is unstable (packet loss)",
 * "Ana's upload is too slow", … from the SDK's `qualityAlert` / `qualityAlertCleared`
 * events (the SDK decides whose problem it is and debounces; this only words it).
 *
 * The banner element is created here and placed on the call stage, so the page markup
 * does not change.
 */

import { CallEvent } from '/sdk/peercall.js';
import { t } from './i18n.js';

/** @param {string[]} causes */
export function causeText(causes) {
  const words = causes.map((c) => t(`cause.${c}`)).filter((w) => !w.startsWith('cause.')).slice(0, 2);
  return words.length ? ` (${words.join(', ')})` : '';
}

/**
 * The sentence for one alert.
 * @param {{side: string, reason: string, causes: string[]}} alert
 * @param {string} name the other person's name ('' when unknown)
 */
export function alertText({ side, reason, causes }, name) {
  const vars = { name: name || t('otherPerson'), causes: causeText(causes) };
  if (side === 'local') {
    if (reason === 'cpu') return t('qualityLocalCpu');
    if (reason === 'upload') return t('qualityLocalUpload');
    return t('qualityLocal', vars);
  }
  if (side === 'remote') {
    if (reason === 'cpu') return t('qualityRemoteCpu', vars);
    if (reason === 'upload') return t('qualityRemoteUpload', vars);
    return t('qualityRemote', vars);
  }
  return t('qualityBetween', vars);
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
