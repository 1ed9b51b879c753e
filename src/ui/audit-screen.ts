// Audit: the trail with filters, statement text, the hash chain's verify status, and export of the filtered view as JSON lines.
import { api } from './api.js';
import { errorText, type Ctx } from './context.js';
import { badge, clear, field, fmtTime, h, table } from './dom.js';
import type { VerifyResult } from './types.js';

type Event = Record<string, unknown>;

const SHOWN = new Set(['seq', 'ts', 'type', 'prev', 'hash', 'identity', 'actor', 'target', 'database', 'action', 'rules', 'text']);

function details(e: Event): HTMLElement | string {
  if (e.type === 'statement') return h('pre', { class: 'sql inline-sql' }, String(e.text ?? ''));
  const rest = Object.entries(e).filter(([k, v]) => !SHOWN.has(k) && v !== undefined && v !== null).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return h('span', { class: 'kv' }, rest.join(' '));
}

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function renderAudit(ctx: Ctx): void {
  const verify = h('div', { class: 'verify', role: 'status', 'data-testid': 'verify' }, 'Checking the hash chain…');
  const inputs = {
    identity: h('input', { name: 'identity', autocomplete: 'off' }),
    grant: h('input', { name: 'grant', autocomplete: 'off' }),
    type: h('select', { name: 'type' }, ['', 'statement', 'grant', 'session', 'review', 'auth', 'admin'].map((t) => h('option', { value: t }, t || 'any'))),
    action: h('select', { name: 'action' }, ['', 'allow', 'warn', 'mask', 'review', 'block'].map((t) => h('option', { value: t }, t || 'any'))),
    rule: h('input', { name: 'rule', autocomplete: 'off' }),
    since: h('input', { name: 'since', type: 'datetime-local' }),
    until: h('input', { name: 'until', type: 'datetime-local' }),
  };
  const form = h('form', { class: 'card filters', role: 'search', 'aria-label': 'Audit filters' },
    h('div', { class: 'grid' },
      field('Identity', inputs.identity), field('Grant', inputs.grant), field('Type', inputs.type), field('Action', inputs.action),
      field('Rule', inputs.rule), field('From', inputs.since), field('To', inputs.until)),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'), ' ',
    h('button', { type: 'button', id: 'export' }, 'Export JSON lines'));
  const results = h('div', { 'aria-live': 'polite' });
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Audit'), verify, form, results);

  let shown: Event[] = [];
  const query = () => {
    const q = new URLSearchParams();
    for (const k of ['identity', 'grant', 'type', 'action', 'rule'] as const) if (inputs[k].value.trim()) q.set(k, inputs[k].value.trim());
    const since = toIso(inputs.since.value);
    const until = toIso(inputs.until.value);
    if (since) q.set('since', since);
    if (until) q.set('until', until);
    q.set('limit', '1000');
    return q;
  };
  const load = async () => {
    const r = await api<{ events: Event[]; truncated: boolean }>(`v1/audit?${query().toString()}`);
    shown = r.events;
    const rows = [...r.events].reverse().map((e) => [
      String(e.seq ?? ''), fmtTime(e.ts), badge(String(e.type), 'type'), String(e.identity ?? e.actor ?? ''),
      [e.target, e.database].filter(Boolean).join('/'),
      e.action ? badge(String(e.action)) : e.ok === false ? badge('refused', 'block') : '',
      Array.isArray(e.rules) ? e.rules.join(', ') : '', details(e),
    ]);
    clear(results, h('p', { class: 'muted' }, `${r.events.length} event${r.events.length === 1 ? '' : 's'}${r.truncated ? ' (newest 1000 shown; narrow the filters)' : ''}, newest first.`),
      table(['Seq', 'Time', 'Type', 'Who', 'Where', 'Action', 'Rules', 'Statement / details'], rows, 'Audit events'));
  };
  const check = async () => {
    const v = await api<VerifyResult>('v1/audit/verify');
    verify.className = `verify ${v.ok ? 'ok' : 'broken'}`;
    verify.textContent = v.ok
      ? `Hash chain intact: ${v.count} events verified.`
      : `Hash chain BROKEN at line ${v.firstBrokenLine}${v.firstBrokenFile ? ` of ${v.firstBrokenFile.split('/').pop()}` : ''} (seq ${v.firstBrokenSeq}): ${v.reason}. ${v.count} lines read.`;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load().catch((e) => ctx.announce(errorText(e), 'error'));
  });
  form.querySelector('#export')!.addEventListener('click', () => {
    const blob = new Blob(shown.map((e) => `${JSON.stringify(e)}\n`), { type: 'application/x-ndjson' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `dbwarden-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    ctx.announce(`Exported ${shown.length} events.`, 'ok');
  });
  ctx.every(5000, async () => {
    await Promise.all([check(), load()]);
  });
}
