/** Small formatting and table helpers for the admin panels (text only, never HTML). */

import { el } from '/ui/dom.js';

export { el };

/** @param {number | null | undefined} t epoch seconds */
export const when = (t) => (t ? new Date(t * 1000).toLocaleString() : '—');

/** @param {number | null | undefined} s seconds */
export function duration(s) {
  if (s === null || s === undefined) return '—';
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** @param {number | null | undefined} v @param {string} unit @param {number} [digits] */
export const num = (v, unit, digits = 0) => (typeof v === 'number' ? `${v.toFixed(digits)} ${unit}` : '—');

/** @param {string | null | undefined} level quality level */
export const levelBadge = (level) => el('span', { class: `level level-${level ?? 'unknown'}`, 'data-level': level ?? 'unknown' }, [level ?? 'no data']);

/**
 * @param {string[]} headers
 * @param {(Node | string)[][]} rows
 * @param {Record<string, string>} [attrs]
 */
export function table(headers, rows, attrs = {}) {
  return el('table', attrs, [
    el('thead', {}, [el('tr', {}, headers.map((h) => el('th', {}, [h])))]),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, [c]))))),
  ]);
}

/** @param {string} text */
export const empty = (text) => el('p', { class: 'empty' }, [text]);

/** @param {Record<string, unknown>} media `{audio, video, screen}` */
export const mediaText = (media) =>
  `mic ${media?.audio ?? '?'}, camera ${media?.video ?? '?'}${media?.screen ? ', sharing' : ''}`;
