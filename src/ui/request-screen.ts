// Request access: what the identity may request (max TTL, approvals), a reason and TTL; one-time credentials with copy buttons.
import { api, post } from './api.js';
import { errorText, POLL_MS, type Ctx } from './context.js';
import { badge, clear, copyable, field, fmtTime, h, table } from './dom.js';
import type { AccessRequest, Credentials, Info, Target } from './types.js';

const WAITING_KEY = 'dbwarden.waiting';

function waiting(): string[] {
  try {
    return JSON.parse(sessionStorage.getItem(WAITING_KEY) ?? '[]') as string[];
  } catch {
    return [];
  }
}
function setWaiting(ids: string[]): void {
  sessionStorage.setItem(WAITING_KEY, JSON.stringify(ids));
}

function endpoint(listen: string | undefined): { host: string; port: string } | undefined {
  if (!listen) return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) return undefined;
  let host = m[1] ?? m[2] ?? '';
  if (host === '0.0.0.0' || host === '::' || host === '') host = location.hostname.replace(/^\[|\]$/g, '');
  return { host, port: m[3]! };
}

/** Command lines without the password: it is pasted at the prompt (or read from PGPASSWORD / MYSQL_PWD). */
export function connectLines(c: Credentials, target: string, database: string, info: Info): { label: string; line: string }[] {
  const protocol = info.targets[target]?.protocol ?? 'postgres';
  const lines = [{ label: 'dbwarden connect', line: `dbwarden connect ${target} --database ${database}` }];
  const ep = endpoint(info.listen[protocol]);
  if (ep && protocol === 'postgres') lines.push({ label: 'psql', line: `psql "host=${ep.host} port=${ep.port} dbname=${database} user=${c.login}"` });
  if (ep && protocol === 'mysql') lines.push({ label: 'mysql', line: `mysql -h ${ep.host} -P ${ep.port} -u ${c.login} -p ${database}` });
  return lines;
}

function credentialsPanel(ctx: Ctx, c: Credentials, target: string, database: string): HTMLElement {
  const panel = h('section', { class: 'card credentials', 'aria-labelledby': 'cred-h', 'data-testid': 'credentials', tabindex: -1 },
    h('h3', { id: 'cred-h' }, 'Your credentials — shown once'),
    h('p', { class: 'warn-text' }, 'Copy the password now: the broker keeps only verifiers and cannot show it again.'),
    copyable('Login', c.login, { testid: 'cred-login' }),
    copyable('Password', c.password, { secret: true, testid: 'cred-password' }),
    h('p', {}, `Grant ${c.grantId}, expires ${fmtTime(c.expiresAt)}.`),
    h('h4', {}, 'Connect'),
    connectLines(c, target, database, ctx.info).map((l) => copyable(l.label, l.line, { testid: `line-${l.label.replace(/\s+/g, '-')}` })),
    h('p', { class: 'hint' }, 'The password is asked for at the prompt; it is never part of a URL.'),
  );
  const done = h('button', { type: 'button' }, 'I have copied it — hide');
  done.addEventListener('click', () => panel.remove());
  panel.appendChild(done);
  return panel;
}

export function renderRequest(ctx: Ctx): void {
  const out = h('div', { class: 'cred-slot', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'req-h' });
  const mine = h('div', {});
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Request access'), out, form, h('h3', {}, 'My requests'), mine);

  let targets: Target[] = [];
  const targetSel = h('select', { name: 'target', required: true });
  const accessSel = h('select', { name: 'access', required: true });
  const dbSel = h('select', { name: 'database', required: true });
  const ttl = h('input', { name: 'ttl', value: '30m', required: true, pattern: '\\d+\\s*[smhd]', inputmode: 'text', autocomplete: 'off' });
  const reason = h('textarea', { name: 'reason', required: true, rows: 2, maxlength: 500 });
  const limits = h('p', { class: 'limits', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Request');

  const current = () => targets.find((t) => t.name === targetSel.value);
  const level = () => current()?.access.find((a) => a.access === accessSel.value);
  const refreshLevel = () => {
    const a = level();
    clear(dbSel, (a?.databases ?? current()?.databases ?? []).map((d) => h('option', { value: d }, d)));
    clear(limits, a
      ? [`Policy ${a.policy}: at most ${a.maxTtl}; `, a.approvals === 0 ? 'active at once.' : `needs ${a.approvals} approval${a.approvals > 1 ? 's' : ''} from ${a.approvers.join(', ')}.`]
      : 'No policy lets you request this.');
  };
  const refreshTarget = () => {
    clear(accessSel, (current()?.access ?? []).map((a) => h('option', { value: a.access }, `${a.access} (max ${a.maxTtl}${a.approvals ? `, ${a.approvals} approval` : ''})`)));
    refreshLevel();
  };
  targetSel.addEventListener('change', refreshTarget);
  accessSel.addEventListener('change', refreshLevel);

  form.append(
    h('h3', { id: 'req-h' }, 'New request'),
    h('div', { class: 'grid' }, field('Target', targetSel), field('Access', accessSel), field('Database', dbSel), field('TTL', ttl, 'e.g. 15m, 2h')),
    field('Reason', reason, 'shown to approvers and kept in the audit trail'),
    limits, submit,
  );

  void api<Target[]>('v1/targets').then((t) => {
    targets = t;
    if (t.length === 0) clear(form, h('p', {}, 'No policy lets you request access to any target.'));
    clear(targetSel, t.map((x) => h('option', { value: x.name }, `${x.name} (${x.protocol})`)));
    refreshTarget();
  }, (e) => ctx.announce(errorText(e), 'error'));

  const showCreds = (c: Credentials, target: string, database: string) => {
    clear(out, credentialsPanel(ctx, c, target, database));
    (out.firstElementChild as HTMLElement | null)?.focus();
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    const target = targetSel.value;
    const database = dbSel.value;
    post<{ request: AccessRequest; grant?: Credentials }>('v1/requests', { target, access: accessSel.value, ttl: ttl.value.trim(), reason: reason.value, databases: [database] })
      .then((r) => {
        if (r.grant) {
          ctx.announce(`Request ${r.request.id} is active.`, 'ok');
          showCreds(r.grant, target, database);
        } else {
          setWaiting([...waiting(), r.request.id]);
          ctx.announce(`Request ${r.request.id} is ${r.request.status}; your credentials appear here once it is approved.`, 'ok');
        }
        reason.value = '';
      }, (e) => ctx.announce(errorText(e), 'error'))
      .finally(() => (submit.disabled = false));
  });

  let fetching = false;
  ctx.every(POLL_MS, async () => {
    const all = await api<AccessRequest[]>('v1/requests');
    const own = all.filter((r) => r.requester === ctx.me.name).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 20);
    const w = waiting();
    // a request this tab is waiting for was approved: fetch its one-time credentials now, while the requester looks
    const ready = own.find((r) => w.includes(r.id) && r.status === 'active' && !r.credentialsIssued);
    if (ready && !fetching) {
      fetching = true;
      setWaiting(w.filter((id) => id !== ready.id));
      await post<Credentials>(`v1/requests/${encodeURIComponent(ready.id)}/credentials`)
        .then((c) => {
          ctx.announce(`Request ${ready.id} was approved.`, 'ok');
          showCreds(c, ready.target, ready.databases[0] ?? '');
        }, (e) => ctx.announce(errorText(e), 'error'))
        .finally(() => (fetching = false));
    }
    clear(mine, own.length === 0 ? h('p', {}, 'None yet.') : table(['Request', 'Target', 'Access', 'Status', 'Reason', 'Created', ''], own.map((r) => [
      r.id, `${r.target}/${r.databases.join(',')}`, r.access, badge(r.status), r.reason, fmtTime(r.createdAt),
      r.status === 'active' && !r.credentialsIssued
        ? h('button', { type: 'button', class: 'small', onclick: () => {
          void post<Credentials>(`v1/requests/${encodeURIComponent(r.id)}/credentials`).then((c) => showCreds(c, r.target, r.databases[0] ?? ''), (e) => ctx.announce(errorText(e), 'error'));
        } }, 'Get credentials')
        : '',
    ]), 'My requests'));
  });
}
