/**
 * History tab: every call of every room, newest first; a call's stats timeline drawn as
 * charts (RTT, loss, bitrate, quality level) with its reconnects marked on the time axis.
 */

import { api, optional } from './api.js';
import { timeChart } from './chart.js';
import { duration, el, empty, levelBadge, table, when } from './format.js';

const LEVELS = ['lost', 'poor', 'good', 'excellent']; // worst first, as the server's model

/** @param {HTMLElement} panel */
export async function renderHistory(panel) {
  const { rooms } = await api('/api/rooms');
  const lists = await Promise.all(rooms.map((/** @type {any} */ r) => optional(`/api/rooms/${encodeURIComponent(r.id)}/calls`)));
  const calls = lists.flatMap((list) => list?.calls ?? []).sort((a, b) => b.started_at - a.started_at);
  const detail = el('div', { 'data-testid': 'call-detail' });
  const rows = calls.map((/** @type {any} */ call) => {
    const button = el('button', { 'data-testid': 'show-stats', 'data-call': call.id }, ['Stats']);
    button.addEventListener('click', () => {
      showCall(detail, call).catch((err) => detail.replaceChildren(el('p', { class: 'error' }, [String(err.message)])));
    });
    const row = [
      when(call.started_at), call.ended_at ? duration(call.ended_at - call.started_at) : 'live',
      call.end_reason ?? (call.ended_at ? '—' : 'in progress'), call.room_id,
      call.participants.map((/** @type {any} */ p) => p.name || p.identity).join(', '), button,
    ];
    return row;
  });
  panel.replaceChildren(
    calls.length
      ? table(['Started', 'Duration', 'End', 'Room', 'Participants', ''], rows, { 'data-testid': 'call-history' })
      : empty('No calls yet.'),
    detail,
  );
  for (const [i, tr] of [...panel.querySelectorAll('[data-testid="call-history"] tbody tr')].entries()) {
    tr.setAttribute('data-call', calls[i].id);
    tr.setAttribute('data-state', calls[i].ended_at ? 'ended' : 'live');
  }
}

/**
 * @param {HTMLElement} detail
 * @param {any} call
 */
async function showCall(detail, call) {
  const [stats, reconnects] = await Promise.all([
    optional(`/api/calls/${encodeURIComponent(call.id)}/stats`),
    optional(`/api/rooms/${encodeURIComponent(call.room_id)}/calls/${encodeURIComponent(call.id)}/reconnects`),
  ]);
  const timeline = stats?.timeline ?? [];
  const end = call.ended_at ?? Math.max(call.started_at, ...timeline.map((/** @type {any} */ p) => p.t));
  const span = /** @type {[number, number]} */ ([call.started_at, end]);
  const markers = (reconnects?.reconnects ?? []).map((/** @type {any} */ r) => r.started_at);
  /** @type {Map<string, any[]>} */
  const byIdentity = new Map();
  for (const point of timeline) {
    if (!byIdentity.has(point.identity)) byIdentity.set(point.identity, []);
    /** @type {any[]} */ (byIdentity.get(point.identity)).push(point);
  }
  /** @param {(p: any) => number | null | undefined} pick @param {string} [suffix] */
  const series = (pick, suffix = '') => [...byIdentity].map(([identity, points]) => ({
    name: identity + suffix,
    points: /** @type {[number, number][]} */ (points.map((p) => [p.t, pick(p)]).filter(([, v]) => typeof v === 'number' && Number.isFinite(v))),
  }));
  const sample = (/** @type {any} */ p) => p.summary?.sample ?? {};
  const lossPct = (/** @type {any} */ v) => (typeof v === 'number' ? v * 100 : null);
  const charts = timeline.length === 0 ? [empty('No stats were reported for this call.')] : [
    timeChart({ id: 'rtt', title: 'Round-trip time (ms)', series: series((p) => sample(p).rtt_ms), markers, span }),
    timeChart({ id: 'loss', title: 'Packet loss in (%)', series: series((p) => lossPct(sample(p).loss_in)), markers, span }),
    timeChart({
      id: 'bitrate', title: 'Bitrate (kbit/s)', markers, span,
      series: [...series((p) => sample(p).kbps_in, ' in'), ...series((p) => sample(p).kbps_out, ' out')],
    }),
    timeChart({
      id: 'level', title: 'Quality level', markers, span, categories: LEVELS,
      series: series((p) => { const i = LEVELS.indexOf(p.level); return i < 0 ? null : i; }),
    }),
  ];
  const fig = (/** @type {any} */ f, /** @type {string} */ unit, scale = 1) =>
    (f ? `${(f.avg * scale).toFixed(1)} / ${(f.p95 * scale).toFixed(1)} ${unit}` : '—');
  const summaryRows = (stats?.summary ?? []).map((/** @type {any} */ s) => [
    s.identity, levelBadge(s.worst_level), String(s.reports), fig(s.mos, ''), fig(s.rtt_ms, 'ms'),
    fig(s.loss_in, '%', 100), fig(s.kbps_in, 'kbit/s'), fig(s.kbps_out, 'kbit/s'),
  ]);
  const reconnectRows = (reconnects?.reconnects ?? []).map((/** @type {any} */ r) => [
    when(r.started_at), r.identity, r.kind, r.cause, `${r.duration_ms} ms`, r.outcome,
  ]);
  detail.replaceChildren(
    el('h2', {}, [`Call ${call.id} — ${when(call.started_at)}`]),
    ...(summaryRows.length ? [table(['Who', 'Worst', 'Reports', 'MOS avg / p95', 'RTT avg / p95', 'Loss in avg / p95',
      'In avg / p95', 'Out avg / p95'], summaryRows, { 'data-testid': 'call-summary' })] : []),
    el('div', { class: 'charts', 'data-testid': 'charts', 'data-call': call.id }, charts),
    ...(reconnectRows.length ? [table(['At', 'Who', 'Kind', 'Cause', 'Took', 'Outcome'], reconnectRows)] : []),
  );
}
