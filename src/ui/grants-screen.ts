// Grants and sessions: live grants with a countdown, extend and revoke; sessions of every instance with kill. Polled every 1.5 s.
import { api, post } from './api.js';
import { errorText, POLL_MS, type Ctx } from './context.js';
import { badge, clear, fmtLeft, fmtTime, h, table } from './dom.js';
import type { Grant, SessionInfo } from './types.js';

export function renderGrants(ctx: Ctx): void {
  const grantsBox = h('div', {});
  const sessionsBox = h('div', {});
  const updated = h('p', { class: 'muted small-text' });
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Grants and sessions'), updated,
    h('h3', {}, 'Active grants'), grantsBox, h('h3', {}, 'Live sessions (all broker instances)'), sessionsBox);

  const countdowns: { el: HTMLElement; at: number }[] = [];
  const tick = () => {
    for (const c of countdowns) {
      const left = c.at - Date.now();
      c.el.textContent = fmtLeft(left);
      c.el.classList.toggle('soon', left < 5 * 60_000);
    }
  };
  ctx.every(1000, tick);

  const act = (label: string, p: Promise<unknown>) => p.then(() => ctx.announce(label, 'ok'), (e) => ctx.announce(errorText(e), 'error'));
  let lastKey = '';
  ctx.every(POLL_MS, async () => {
    const [grants, sessions] = await Promise.all([api<Grant[]>('v1/grants'), api<SessionInfo[]>('v1/sessions')]);
    updated.textContent = `Updated ${new Date().toLocaleTimeString(undefined, { hour12: false })} (refreshes every ${POLL_MS / 1000} s)`;
    const key = JSON.stringify([grants.map((g) => [g.id, g.expiresAt, g.status]), sessions.map((s) => [s.id, s.statements])]);
    if (key === lastKey) return;
    // keep focus where it was across a redraw (keyboard users on a button)
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.key;
    lastKey = key;
    countdowns.length = 0;
    clear(grantsBox, grants.length === 0 ? h('p', {}, 'No active grants.') : table(
      ['Grant', 'Identity', 'Target', 'Access', 'Login', 'Expires in', 'Extend', 'Revoke'],
      grants.map((g) => {
        const left = h('span', { class: 'countdown', 'data-testid': `left-${g.id}` });
        countdowns.push({ el: left, at: Date.parse(g.expiresAt) });
        const ttl = h('select', { 'aria-label': `Extend ${g.id} by` }, ['15m', '30m', '1h', '2h'].map((t) => h('option', { value: t }, t)));
        const reason = h('input', { type: 'text', 'aria-label': `Reason for revoking ${g.id}`, placeholder: 'reason', maxlength: 200 });
        return [
          h('code', {}, g.id), g.identity, `${g.target}/${g.databases.join(',')}`, badge(g.access), h('code', {}, g.login),
          h('span', { title: fmtTime(g.expiresAt) }, left),
          h('span', { class: 'inline' }, ttl, h('button', { type: 'button', class: 'small', 'data-key': `ext-${g.id}`, onclick: () => act(`Grant ${g.id} extended.`, post(`v1/grants/${encodeURIComponent(g.id)}/extend`, { ttl: ttl.value })) }, 'Extend')),
          h('span', { class: 'inline' }, reason, h('button', { type: 'button', class: 'danger small', 'data-key': `rev-${g.id}`, 'data-testid': `revoke-${g.id}`, onclick: () => act(`Grant ${g.id} revoked; its sessions end.`, post(`v1/grants/${encodeURIComponent(g.id)}/revoke`, reason.value ? { reason: reason.value } : {})) }, 'Revoke')),
        ];
      }), 'Active grants'));
    clear(sessionsBox, sessions.length === 0 ? h('p', {}, 'No live sessions.') : table(
      ['Session', 'Identity', 'Grant', 'Database', 'Client', 'Started', 'Statements', 'Instance', ''],
      sessions.map((s) => [
        h('code', {}, s.id), s.identity, h('code', {}, s.grantId), `${s.target}/${s.database}`, s.client, fmtTime(s.startedAt),
        String(s.statements ?? '–'), s.instance,
        h('button', { type: 'button', class: 'danger small', 'data-key': `kill-${s.id}`, onclick: () => act(`Session ${s.id} killed.`, post(`v1/sessions/${encodeURIComponent(s.id)}/kill`)) }, 'Kill'),
      ]), 'Live sessions'));
    tick();
    if (focusedId) (ctx.main.querySelector(`[data-key="${CSS.escape(focusedId)}"]`) as HTMLElement | null)?.focus();
  });
}
