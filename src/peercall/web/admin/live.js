/** Live tab: rooms with a call in progress, their participants and each one's latest quality. */

import { api, optional } from './api.js';
import { duration, el, empty, levelBadge, mediaText, num, table } from './format.js';

/** @param {any} stats `GET /api/calls/{id}/stats` @returns {Map<string, any>} latest point per peer id */
function latestByPeer(stats) {
  const latest = new Map();
  for (const point of stats?.timeline ?? []) {
    const seen = latest.get(point.peer_id);
    if (!seen || seen.t <= point.t) latest.set(point.peer_id, point);
  }
  return latest;
}

/** @param {HTMLElement} panel */
export async function renderLive(panel) {
  const { rooms } = await api('/api/rooms');
  const live = rooms.filter((/** @type {any} */ r) => r.participants.length > 0);
  const now = Date.now() / 1000;
  const sections = await Promise.all(live.map(async (/** @type {any} */ room) => {
    const stats = room.call_id ? await optional(`/api/calls/${encodeURIComponent(room.call_id)}/stats`) : null;
    const latest = latestByPeer(stats);
    const rows = room.participants.map((/** @type {any} */ p) => {
      const point = latest.get(p.peer_id);
      const sample = point?.summary?.sample ?? {};
      return [
        p.name || p.identity, p.identity, p.role, duration(now - p.joined_at), mediaText(p.media),
        levelBadge(point?.level), num(sample.rtt_ms, 'ms'),
        typeof sample.loss_in === 'number' ? num(sample.loss_in * 100, '%', 1) : '—',
        num(sample.kbps_in, 'kbit/s'), num(sample.kbps_out, 'kbit/s'),
      ];
    });
    return el('section', { 'data-testid': 'live-room', 'data-room': room.id, 'data-call': room.call_id ?? '' }, [
      el('h2', {}, [`${room.name || room.id} — ${room.participants.length} in call`]),
      table(['Name', 'Identity', 'Role', 'In call', 'Media', 'Quality', 'RTT', 'Loss in', 'In', 'Out'], rows,
        { 'data-testid': 'live-participants' }),
    ]);
  }));
  panel.replaceChildren(...(sections.length ? sections : [empty('No call in progress.')]));
}
