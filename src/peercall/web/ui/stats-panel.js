/**
 * The call page's statistics panel for support calls: a friendly webrtc-internals. Live
 * figures (both sides' quality levels, connection type, what is sent and received) and
 * line graphs of the last 3 minutes (bitrate, round trip, packet loss, frame rate),
 * drawn on canvases from `call.stats.history`. Toggled by a button it adds to the call
 * controls; redrawn on each `statsSample` while open.
 */

import { CallEvent } from '/sdk/peercall.js';

const WINDOW_MS = 180_000;
const IN_COLOR = '#4a83f2';
const OUT_COLOR = '#f2a14a';
const RTT_COLOR = '#58c98b';

/**
 * @typedef {{label: string, color: string, points: [number, number][]}} Series
 * @typedef {{title: string, unit: string, floor: number, series: (h: any[]) => Series[]}} ChartSpec
 */

/** @param {any[]} history @param {(s: any) => number | null | undefined} pick @returns {[number, number][]} */
const points = (history, pick) => history.flatMap((h) => {
  const v = pick(h.sample);
  return typeof v === 'number' && Number.isFinite(v) ? [[h.t, v]] : [];
});

/** @type {ChartSpec[]} */
const CHARTS = [
  { title: 'Bitrate', unit: 'kbit/s', floor: 100, series: (h) => [
    { label: 'in', color: IN_COLOR, points: points(h, (s) => s.kbps_in) },
    { label: 'out', color: OUT_COLOR, points: points(h, (s) => s.kbps_out) }] },
  { title: 'Round trip', unit: 'ms', floor: 50, series: (h) => [
    { label: 'rtt', color: RTT_COLOR, points: points(h, (s) => s.rtt_ms) }] },
  { title: 'Packet loss', unit: '%', floor: 5, series: (h) => [
    { label: 'in', color: IN_COLOR, points: points(h, (s) => (s.loss_in == null ? null : s.loss_in * 100)) },
    { label: 'out', color: OUT_COLOR, points: points(h, (s) => (s.loss_out == null ? null : s.loss_out * 100)) }] },
  { title: 'Frame rate', unit: 'fps', floor: 30, series: (h) => [
    { label: 'in', color: IN_COLOR, points: points(h, (s) => s.fps_in) },
    { label: 'out', color: OUT_COLOR, points: points(h, (s) => s.fps_out) }] },
];

/** A round axis maximum ≥ value. @param {number} value */
export function niceMax(value) {
  const step = 10 ** Math.floor(Math.log10(Math.max(value, 1e-9)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

/**
 * Draw one chart: a top grid line labelled with the axis maximum, one polyline per series.
 * @param {HTMLCanvasElement} canvas @param {ChartSpec} spec @param {any[]} history @param {number} now
 */
export function drawChart(canvas, spec, history, now) {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  const series = spec.series(history);
  const top = niceMax(Math.max(spec.floor, ...series.flatMap((s) => s.points.map((p) => p[1]))));
  const pad = { l: 4, r: 4, t: 16, b: 4 };
  // The last 3 minutes; a younger call fills the width with what there is (at least 20 s).
  const first = history.length ? history[0].t : now;
  const span = Math.min(WINDOW_MS, Math.max(now - first, 20_000));
  const x = (/** @type {number} */ t) => pad.l + ((t - (now - span)) / span) * (width - pad.l - pad.r);
  const y = (/** @type {number} */ v) => height - pad.b - (v / top) * (height - pad.t - pad.b);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = 'rgba(255,255,255,0.04)';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = 'rgba(255,255,255,0.15)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.l, y(top));
  ctx.lineTo(width - pad.r, y(top));
  ctx.moveTo(pad.l, y(top / 2));
  ctx.lineTo(width - pad.r, y(top / 2));
  ctx.stroke();
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#a1a8b3';
  ctx.fillText(`${spec.title} (${spec.unit}) · max ${top}`, pad.l, 11);
  let legendX = width - pad.r;
  for (const s of [...series].reverse()) {
    const last = s.points.at(-1);
    const text = `${s.label} ${last ? Math.round(last[1] * 10) / 10 : '–'}`;
    legendX -= ctx.measureText(text).width + 8;
    ctx.fillStyle = s.color;
    ctx.fillText(text, legendX, 11);
  }
  series.forEach((s, i) => {
    ctx.lineWidth = i === 0 ? 3.5 : 1.5; // equal values stay visible: the second line runs inside the first
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    s.points.forEach(([t, v], j) => (j ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.stroke();
  });
}

/** @param {any} pair */
export function describePair(pair) {
  if (!pair || !pair.local) return '–';
  const relayed = pair.local === 'relay' || pair.remote === 'relay';
  const how = relayed ? `relay (TURN ${pair.relay_protocol ?? pair.protocol ?? ''})` : `direct (${pair.local} ↔ ${pair.remote ?? '?'})`;
  return `${how}, ${pair.protocol ?? '?'}`;
}

/** @param {any} s the sample @param {'in' | 'out'} dir */
function videoText(s, dir) {
  const h = s[`height_${dir}`];
  const fps = s[`fps_${dir}`];
  const kbps = s[`kbps_${dir}`];
  const video = h ? `${s[`width_${dir}`]}×${h} @ ${Math.round(fps ?? 0)} fps` : 'no video';
  return `${video}, ${Math.round(kbps ?? 0)} kbit/s`;
}

/**
 * @param {import('/sdk/peercall.js').Call} call
 * @param {HTMLElement} host where the panel goes (the call screen)
 * @param {HTMLElement} controls the control bar (the toggle button goes before its last button)
 */
export function setupStatsPanel(call, host, controls) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'pc-btn pc-round';
  button.dataset.testid = 'stats-button';
  button.setAttribute('aria-label', 'Call statistics');
  button.setAttribute('aria-pressed', 'false');
  button.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 9.2h3V19H5V9.2zM10.6 5h2.8v14h-2.8V5zm5.6 8H19v6h-2.8v-6z"/></svg>';
  controls.insertBefore(button, controls.lastElementChild);

  const panel = document.createElement('section');
  panel.className = 'pc-stats';
  panel.dataset.testid = 'stats-panel';
  panel.setAttribute('aria-label', 'Call statistics');
  panel.hidden = true;
  const facts = document.createElement('dl');
  facts.className = 'pc-stats-facts';
  panel.append(facts);
  const canvases = CHARTS.map((spec) => {
    const canvas = document.createElement('canvas');
    canvas.width = 300;
    canvas.height = 72;
    canvas.dataset.testid = `stats-chart-${spec.title.toLowerCase().replace(/\s+/g, '-')}`;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${spec.title} over the last 3 minutes`);
    panel.append(canvas);
    return canvas;
  });
  host.append(panel);

  /** @param {string} key @param {string} label @param {string} value */
  const fact = (key, label, value) => `<dt>${label}</dt><dd data-stat="${key}">${value}</dd>`;
  const escape = (/** @type {string} */ text) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const render = () => {
    if (panel.hidden) return;
    const history = call.stats.history;
    const last = history.at(-1);
    const s = last?.sample ?? {};
    const a = last?.assessment;
    const peer = call.stats.peerSummary;
    const level = (/** @type {string | null | undefined} */ l, /** @type {number | null | undefined} */ mos) => (l ? `${l}${typeof mos === 'number' ? ` (MOS ${mos.toFixed(1)})` : ''}` : '–');
    facts.innerHTML = [
      fact('local-level', 'Your quality', escape(level(call.stats.localLevel, a?.mos))),
      fact('remote-level', 'Their quality', escape(level(call.stats.remoteLevel, peer?.mos))),
      fact('connection', 'Connection', escape(describePair(s.pair))),
      fact('sending', 'Sending', escape(last ? videoText(s, 'out') : '–') + (s.limitation && s.limitation !== 'none' ? ` · limited by ${escape(s.limitation)}` : '')),
      fact('receiving', 'Receiving', escape(last ? videoText(s, 'in') : '–')),
      fact('rtt', 'Round trip', s.rtt_ms == null ? '–' : `${Math.round(s.rtt_ms)} ms`),
      fact('loss', 'Loss in / out', `${s.loss_in == null ? '–' : (s.loss_in * 100).toFixed(1)} % / ${s.loss_out == null ? '–' : (s.loss_out * 100).toFixed(1)} %`),
      fact('server-path', 'Your path to the server', escape(call.stats.access)),
    ].join('');
    const now = Date.now();
    CHARTS.forEach((spec, i) => drawChart(canvases[i], spec, history, now));
  };
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-pressed', String(!panel.hidden));
    button.classList.toggle('pc-on', !panel.hidden);
    render();
  });
  call.on(CallEvent.StatsSample, render);
  call.on(CallEvent.Ended, () => { panel.hidden = true; });
  return { button, panel };
}
