// Overview pictures drawn as inline SVG: statements per minute by action, top rules matched, active grants over time.
import { api } from './api.js';
import type { Ctx } from './context.js';
import { clear, h, svg } from './dom.js';
import type { Stats } from './types.js';

const ACTION_ORDER = ['allow', 'warn', 'mask', 'review', 'block'];
const W = 600;
const H = 180;
const PAD = { l: 36, r: 8, t: 10, b: 22 };

function hhmm(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}

function axes(max: number, buckets: string[]): SVGElement[] {
  const out: SVGElement[] = [];
  const y = (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / max);
  for (const v of [0, Math.round(max / 2), max]) {
    out.push(svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid-line' }));
    out.push(svg('text', { x: PAD.l - 4, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, String(v)));
  }
  const n = buckets.length;
  const step = Math.max(1, Math.ceil(n / 6));
  for (let i = 0; i < n; i += step) {
    const x = PAD.l + ((W - PAD.l - PAD.r) * (i + 0.5)) / n;
    out.push(svg('text', { x, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, hhmm(buckets[i]!)));
  }
  return out;
}

/** A figure with a text alternative: the same numbers as a sentence for screen readers. */
function figure(title: string, summary: string, chart: SVGElement, legend?: HTMLElement): HTMLElement {
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', `${title}. ${summary}`);
  return h('figure', { class: 'card chart' }, h('figcaption', {}, title), chart, legend ?? null);
}

function statementsChart(s: Stats): HTMLElement {
  const n = s.buckets.length;
  const actions = [...ACTION_ORDER, ...Object.keys(s.statements).filter((a) => !ACTION_ORDER.includes(a))];
  const totals = Array.from({ length: n }, (_, i) => actions.reduce((sum, a) => sum + (s.statements[a]?.[i] ?? 0), 0));
  const max = Math.max(4, ...totals);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg' }, ...axes(max, s.buckets));
  const bw = (W - PAD.l - PAD.r) / n;
  const scale = (H - PAD.t - PAD.b) / max;
  for (let i = 0; i < n; i++) {
    let y = H - PAD.b;
    for (const a of actions) {
      const v = s.statements[a]?.[i] ?? 0;
      if (!v) continue;
      const hgt = v * scale;
      y -= hgt;
      chart.appendChild(svg('rect', { x: PAD.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: hgt, class: `fill-${a}` }, svg('title', {}, `${hhmm(s.buckets[i]!)} ${a}: ${v}`)));
    }
  }
  const sums = actions.map((a) => [a, (s.statements[a] ?? []).reduce((x, y) => x + y, 0)] as const);
  const legend = h('ul', { class: 'legend' }, sums.map(([a, v]) => h('li', {}, h('span', { class: `swatch fill-${a}`, 'aria-hidden': 'true' }), `${a} ${v}`)));
  return figure('Statements per minute by action', sums.map(([a, v]) => `${a}: ${v}`).join(', ') + ` in the last ${n} minutes`, chart, legend);
}

function rulesChart(s: Stats): HTMLElement {
  const rows = s.topRules;
  const rh = 22;
  const hh = Math.max(40, rows.length * rh + 10);
  const max = Math.max(1, ...rows.map((r) => r.count));
  const labelW = 200;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${hh}`, class: 'chart-svg' });
  rows.forEach((r, i) => {
    const y = 5 + i * rh;
    chart.appendChild(svg('text', { x: labelW - 6, y: y + 14, class: 'tick', 'text-anchor': 'end' }, r.rule));
    chart.appendChild(svg('rect', { x: labelW, y: y + 2, width: ((W - labelW - 50) * r.count) / max, height: rh - 6, class: 'fill-rule' }));
    chart.appendChild(svg('text', { x: labelW + ((W - labelW - 50) * r.count) / max + 4, y: y + 14, class: 'tick' }, String(r.count)));
  });
  if (rows.length === 0) chart.appendChild(svg('text', { x: W / 2, y: 25, class: 'tick', 'text-anchor': 'middle' }, 'no rule matched in this window'));
  return figure('Top rules matched', rows.map((r) => `${r.rule}: ${r.count}`).join(', ') || 'none', chart);
}

function grantsChart(s: Stats): HTMLElement {
  const n = s.activeGrants.length;
  const max = Math.max(2, ...s.activeGrants);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg' }, ...axes(max, s.buckets));
  const x = (i: number) => PAD.l + ((W - PAD.l - PAD.r) * (i + 0.5)) / n;
  const y = (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / max);
  // a step line: the count holds until the next change
  let d = '';
  s.activeGrants.forEach((v, i) => {
    d += i === 0 ? `M${x(i)},${y(v)}` : `H${x(i)}V${y(v)}`;
  });
  chart.appendChild(svg('path', { d, class: 'line-grants' }));
  return figure('Active grants over time', `now ${s.activeGrants[n - 1] ?? 0}, peak ${Math.max(0, ...s.activeGrants)}`, chart);
}

export function renderOverview(ctx: Ctx): void {
  const minutes = h('select', { 'aria-label': 'Time window' }, [30, 60, 180, 720].map((m) => h('option', { value: m }, m < 60 ? `last ${m} min` : `last ${m / 60} h`)));
  const box = h('div', { class: 'charts' });
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Overview'), h('p', {}, minutes, h('span', { class: 'muted' }, ' from the audit trail, refreshed every 5 s')), box);
  const load = async () => {
    const s = await api<Stats>(`v1/stats?minutes=${minutes.value}`);
    clear(box, statementsChart(s), rulesChart(s), grantsChart(s), s.partial ? h('p', { class: 'muted' }, 'The window holds more events than were read; older buckets are incomplete.') : null);
  };
  minutes.addEventListener('change', () => void load());
  ctx.every(5000, load);
}
