/**
 * Recordings and snapshots tabs. Recordings download through the server's signed links
 * (`POST /api/recordings/{id}/links`); snapshot images are fetched with the API key and
 * handed to the browser as a blob, so the key never appears in a URL.
 */

import { api, optional } from './api.js';
import { duration, el, empty, table, when } from './format.js';
import { formatBytes } from '/ui/dom.js';

/** @param {HTMLElement} panel */
export async function renderRecordings(panel) {
  const list = await optional('/api/recordings');
  const recordings = list?.recordings ?? [];
  const rows = recordings.map((/** @type {any} */ r) => {
    const cell = el('span');
    if (r.state === 'ready') {
      const button = el('button', { 'data-testid': 'recording-link', 'data-recording': r.id }, ['Download link']);
      button.addEventListener('click', async () => {
        const link = await api(`/api/recordings/${encodeURIComponent(r.id)}/links`, { method: 'POST' });
        cell.replaceChildren(
          el('a', { href: link.url, download: `${r.id}.mp4`, 'data-testid': 'recording-download' }, ['Download MP4']),
          el('img', { class: 'thumb', src: link.thumbnail_url, alt: 'thumbnail' }),
        );
      });
      cell.append(button);
    } else {
      cell.append(r.error ? `${r.state}: ${r.error}` : r.state);
    }
    return [when(r.created_at), r.room_id, r.name || r.mode, r.started_by, duration(r.duration_s),
      r.size ? formatBytes(r.size) : '—', cell];
  });
  panel.replaceChildren(
    list === null ? empty('Recordings are not available on this server.')
      : rows.length ? table(['Started', 'Room', 'Name', 'By', 'Duration', 'Size', ''], rows, { 'data-testid': 'recordings' })
        : empty('No recordings.'),
  );
}

/** @param {HTMLElement} panel */
export async function renderSnapshots(panel) {
  const { rooms } = await api('/api/rooms');
  const lists = await Promise.all(rooms.map((/** @type {any} */ r) => optional(`/api/rooms/${encodeURIComponent(r.id)}/snapshots`)));
  const snapshots = lists.flatMap((l) => l?.snapshots ?? []).sort((a, b) => b.created_at - a.created_at);
  const rows = snapshots.map((/** @type {any} */ s) => {
    const cell = el('span');
    const button = el('button', { 'data-testid': 'snapshot-download', 'data-snapshot': s.id }, ['Download']);
    button.addEventListener('click', async () => {
      const blob = await api(`/api/snapshots/${encodeURIComponent(s.id)}/image`, { as: 'blob' });
      const url = URL.createObjectURL(blob);
      const ext = s.mime.split('/')[1] ?? 'img';
      const link = el('a', { href: url, download: `${s.id}.${ext}` }, ['Save']);
      cell.replaceChildren(el('img', { class: 'thumb', src: url, alt: `snapshot of ${s.subject}` }), link);
      link.click();
    });
    cell.append(button);
    return [when(s.created_at), s.room_id, s.subject, s.taken_by, `${s.width}×${s.height}`, formatBytes(s.size), cell];
  });
  panel.replaceChildren(
    rows.length ? table(['Taken', 'Room', 'Subject', 'By', 'Size', 'Bytes', ''], rows, { 'data-testid': 'snapshots' })
      : empty('No snapshots.'),
  );
}
