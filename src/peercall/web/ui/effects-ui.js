/**
 * Video effects controls in the call page, built only on the SDK's `call.effects`:
 * a picker (off / blur / built-in backgrounds / own image) and a "mask region" toggle.
 * Degradation events are shown in the notice line so the user knows why quality dropped.
 */

import { el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('/sdk/peercall.js').Call} Call */

/** @param {Call} call @param {Document} doc */
export function setupEffects(call, doc = document) {
  const anchor = doc.querySelector('[data-testid=record-button]')?.parentElement;
  const notice = /** @type {HTMLElement | null} */ (doc.querySelector('[data-testid=notice]'));
  if (!anchor || !call.localStream) return;
  const say = (/** @type {string} */ text) => {
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = !text;
  };
  const options = [['none', t('effectNone')], ['blur', t('effectBlur')], ['office', t('effectOffice')], ['gradient', t('effectGradient')], ['green', t('effectGreen')], ['upload', t('effectUpload')]];
  const picker = /** @type {HTMLSelectElement} */ (el('select', { 'data-testid': 'effects-picker', 'aria-label': t('effectPicker') },
    options.map(([value, label]) => el('option', { value }, [label]))));
  const file = /** @type {HTMLInputElement} */ (el('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', hidden: '' }));
  const mask = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', 'data-testid': 'effects-mask', 'aria-pressed': 'false' }, [t('effectMask')]));
  anchor.append(picker, file, mask);

  const run = async (/** @type {() => Promise<unknown>} */ action) => {
    picker.disabled = true;
    try {
      await action();
    } catch (error) {
      say(t('effectUnavailable', { reason: /** @type {Error} */ (error).message }));
      picker.value = 'none';
    } finally {
      picker.disabled = false;
    }
  };
  picker.addEventListener('change', () => {
    const value = picker.value;
    if (value === 'upload') return file.click();
    if (value === 'none') return run(() => call.effects.clearBackground());
    if (value === 'blur') return run(() => call.effects.blurBackground());
    return run(() => call.effects.replaceBackground(value));
  });
  file.addEventListener('change', () => {
    const [image] = file.files ?? [];
    if (image && image.size <= 10 * 1024 * 1024) run(() => call.effects.replaceBackground(image));
    else say(t('effectImageTooLarge'));
  });
  mask.addEventListener('click', async () => {
    const on = mask.getAttribute('aria-pressed') !== 'true';
    // A fixed lower-right rectangle (e.g. a badge or a document on the desk).
    await run(() => call.effects.maskRegion(on ? { x: 0.6, y: 0.6, w: 0.35, h: 0.35 } : null));
    mask.setAttribute('aria-pressed', String(on));
  });
  call.on(/** @type {any} */ ('effectsDegraded'), (/** @type {any} */ e) => {
    say(t(e.reason === 'error' ? 'effectFailed' : 'effectDegraded'));
  });
}
