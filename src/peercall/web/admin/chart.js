/**
 * Time-series charts as plain SVG (no library): one polyline and one dot per sample for
 * each series, a time axis, and dashed vertical markers (reconnects). Built with DOM calls,
 * never innerHTML, so identities in labels cannot inject markup.
 */

const NS = 'http://www.w3.org/2000/svg';
const W = 480;
const H = 180;
const PAD = { left: 44, right: 8, top: 18, bottom: 22 };

/**
 * @typedef {object} Series
 * @property {string} name legend label
 * @property {[number, number][]} points `[t (epoch seconds), value]`, nulls already dropped
 */

/**
 * @typedef {object} ChartSpec
 * @property {string} id for `data-chart`
 * @property {string} title
 * @property {Series[]} series
 * @property {number[]} markers epoch seconds (reconnect starts)
 * @property {[number, number]} span the call's time range
 * @property {(v: number) => string} [format] tick label
 * @property {string[]} [categories] value i is drawn as categories[i] (quality levels)
 */

/** @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} seconds @returns {string} m:ss */
const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;

/**
 * @param {ChartSpec} spec
 * @returns {HTMLElement} a `<figure>` with the SVG
 */
export function timeChart(spec) {
  const [t0, t1raw] = spec.span;
  const t1 = Math.max(t1raw, t0 + 1);
  const values = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const categories = spec.categories;
  const vmax = categories ? categories.length - 1 : Math.max(1, ...values) * 1.1;
  const x = (/** @type {number} */ t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (/** @type {number} */ v) => H - PAD.bottom - (v / vmax) * (H - PAD.top - PAD.bottom);
  const format = spec.format ?? ((v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)));

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': spec.title, 'data-chart': spec.id });
  root.append(svg('line', { class: 'axis', x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }));
  root.append(svg('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }));
  const yTicks = categories ? categories.map((_, i) => i) : [0, vmax / 2, vmax];
  for (const v of yTicks) {
    root.append(svg('text', { class: 'tick', x: PAD.left - 4, y: y(v) + 3, 'text-anchor': 'end' }, categories ? categories[v] : format(v)));
  }
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + ((t1 - t0) * i) / 4;
    root.append(svg('text', { class: 'tick', x: x(t), y: H - 6, 'text-anchor': 'middle' }, clock(t - t0)));
  }
  for (const t of spec.markers) {
    const marker = svg('line', { class: 'reconnect', 'data-marker': 'reconnect', x1: x(t), y1: PAD.top, x2: x(t), y2: H - PAD.bottom });
    marker.append(svg('title', {}, `reconnect at ${clock(t - t0)}`));
    root.append(marker);
  }
  spec.series.forEach((series, i) => {
    const cls = `s${i % 4}`;
    if (series.points.length > 1) {
      const points = series.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      root.append(svg('polyline', { class: `line ${cls}`, points, 'data-series': series.name }));
    }
    for (const [t, v] of series.points) {
      const dot = svg('circle', { class: cls, cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2, 'data-point': '' });
      dot.append(svg('title', {}, `${series.name} ${clock(t - t0)}: ${categories ? categories[v] : format(v)}`));
      root.append(dot);
    }
    root.append(svg('text', { class: `legend ${cls}`, x: PAD.left + 6 + i * 110, y: 12 }, series.name));
  });

  const figure = document.createElement('figure');
  figure.className = 'chart';
  const title = document.createElement('h3');
  title.textContent = spec.title;
  figure.append(title, root);
  return figure;
}
