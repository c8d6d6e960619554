// A battery history line chart as inline SVG (0–100 % against device time), with a
// text summary for screen readers.

import { h } from './dom.js';

const W = 640;
const H = 180;
const PAD = { left: 40, right: 12, top: 10, bottom: 24 };

/** The chart of `records` ({device_time, battery_pct}); a note when there is no data. */
export function batteryChart(records) {
  const points = records
    .filter((r) => r.battery_pct !== null && r.battery_pct !== undefined && r.device_time)
    .map((r) => ({ t: new Date(r.device_time).getTime(), v: r.battery_pct }));
  if (points.length < 1) return h('p', { class: 'muted' }, 'No battery readings in the last hour.');
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - v / 100) * (H - PAD.top - PAD.bottom);
  const first = points[0].v;
  const last = points[points.length - 1].v;
  const minutes = Math.max(1, Math.round((t1 - t0) / 60000));
  const summary = `Battery ${first}% to ${last}% over ${minutes} min (${points.length} readings)`;
  const svg = h('svg', {
    svg: true, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, class: 'battery',
  });
  for (const v of [0, 25, 50, 75, 100]) {
    svg.append(
      h('line', { svg: true, x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: '#d0d7de' }),
      h('text', { svg: true, x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#57606a' }, `${v}%`),
    );
  }
  const fmt = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  svg.append(
    h('text', { svg: true, x: PAD.left, y: H - 6, 'font-size': 11, fill: '#57606a' }, fmt(t0)),
    h('text', { svg: true, x: W - PAD.right, y: H - 6, 'text-anchor': 'end', 'font-size': 11, fill: '#57606a' }, fmt(t1)),
  );
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  svg.append(h('path', { svg: true, d, fill: 'none', stroke: '#1a7f37', 'stroke-width': 2 }));
  if (points.length === 1) {
    svg.append(h('circle', { svg: true, cx: x(points[0].t), cy: y(points[0].v), r: 3, fill: '#1a7f37' }));
  }
  return h('figure', {}, svg, h('figcaption', { class: 'muted' }, summary));
}
