/**
 * UI strings by language. The language is chosen once, when this module loads, from the
 * link's `lang=` option, else the browser's languages; unknown languages fall back to
 * English, and so does any key a translation lacks. Add a language by adding a file in
 * `locales/` and a line in LOCALES.
 */

import de from './locales/de.js';
import en from './locales/en.js';

/** @type {Record<string, Record<string, string>>} */
const LOCALES = { en, de };

/**
 * @param {string} hash `location.hash`
 * @param {readonly string[]} preferred `navigator.languages`
 * @returns {string} a key of LOCALES
 */
export function pickLanguage(hash, preferred) {
  const asked = new URLSearchParams(hash.replace(/^#/, '')).get('lang');
  for (const tag of [asked, ...preferred]) {
    const base = (tag ?? '').toLowerCase().split('-')[0];
    if (base && Object.hasOwn(LOCALES, base)) return base;
  }
  return 'en';
}

export const lang = pickLanguage(globalThis.location?.hash ?? '', globalThis.navigator?.languages ?? []);
const table = LOCALES[lang];

/**
 * @param {string} key
 * @param {Record<string, string>} [vars] replace `{name}` placeholders (text only, never HTML)
 * @returns {string}
 */
export function t(key, vars = {}) {
  const text = table[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(vars, name) ? vars[name] : whole));
}

/**
 * Translate the static page: `data-text` sets content, `data-label` the aria-label.
 * @param {ParentNode} root
 */
export function translatePage(root) {
  for (const el of root.querySelectorAll('[data-text]')) el.textContent = t(/** @type {HTMLElement} */ (el).dataset.text ?? '');
  for (const el of root.querySelectorAll('[data-label]')) el.setAttribute('aria-label', t(/** @type {HTMLElement} */ (el).dataset.label ?? ''));
}
