// The console's entry point: sign-in (API token or OIDC with PKCE), hash routing between screens, polling lifecycle.
import { api, auth, consoleConfig, setUnauthorizedHandler } from './api.js';
import { renderApprovals } from './approvals-screen.js';
import { renderAudit } from './audit-screen.js';
import { errorText, type Ctx } from './context.js';
import { clear, field, h } from './dom.js';
import { renderGrants } from './grants-screen.js';
import { finishSignIn, startSignIn, type OidcSettings } from './oidc.js';
import { renderOverview } from './overview-screen.js';
import { renderRequest } from './request-screen.js';
import { renderRules } from './rules-screen.js';
import type { Info, Me } from './types.js';

const SCREENS: { route: string; title: string; render: (ctx: Ctx) => void }[] = [
  { route: 'request', title: 'Request access', render: renderRequest },
  { route: 'approvals', title: 'Approvals', render: renderApprovals },
  { route: 'grants', title: 'Grants & sessions', render: renderGrants },
  { route: 'audit', title: 'Audit', render: renderAudit },
  { route: 'rules', title: 'Rules', render: renderRules },
  { route: 'overview', title: 'Overview', render: renderOverview },
];

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
const statusLine = document.getElementById('status') as HTMLElement;

let timers: number[] = [];
let oidc: OidcSettings | null = null;

function stopTimers(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function announce(message: string, kind: 'ok' | 'error' = 'ok'): void {
  statusLine.textContent = message;
  statusLine.className = `status ${kind}`;
}

function signOut(message?: string): void {
  stopTimers();
  auth.clear();
  showSignIn(message);
}

function showSignIn(message?: string): void {
  stopTimers();
  clear(nav);
  clear(who);
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'screen-h' },
    h('h2', { id: 'screen-h', tabindex: -1 }, 'Sign in'),
    message ? h('p', { class: 'error-text', role: 'alert' }, message) : null,
    field('API token', token, 'kept in this tab only (sessionStorage), sent as a bearer header'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    oidc ? h('p', {}, h('button', { type: 'button', id: 'sso', onclick: () => void startSignIn(oidc!).catch((e) => announce(errorText(e), 'error')) }, 'Sign in with single sign-on')) : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = token.value.trim();
    api<Me>('v1/whoami', { token: t }).then(() => {
      auth.set(t);
      token.value = '';
      void start();
    }, (e) => announce(errorText(e), 'error'));
  });
  clear(main, form);
  token.focus();
}

function routeOf(): string {
  const r = location.hash.replace(/^#\/?/, '');
  return SCREENS.some((s) => s.route === r) ? r : 'request';
}

async function start(): Promise<void> {
  let me: Me;
  let info: Info;
  try {
    [me, info] = await Promise.all([api<Me>('v1/whoami'), api<Info>('v1/info')]);
  } catch (e) {
    signOut(errorText(e));
    return;
  }
  clear(who, h('span', {}, `${me.name}`, me.groups.length ? h('span', { class: 'muted' }, ` (${me.groups.join(', ')})`) : null),
    h('button', { type: 'button', class: 'small', onclick: () => signOut() }, 'Sign out'));
  const show = () => {
    stopTimers();
    const route = routeOf();
    clear(nav, h('ul', {}, SCREENS.map((s) => h('li', {}, h('a', { href: `#/${s.route}`, 'aria-current': s.route === route ? 'page' : null }, s.title)))));
    const screen = SCREENS.find((s) => s.route === route)!;
    document.title = `${screen.title} · dbwarden`;
    statusLine.textContent = '';
    statusLine.className = 'status';
    const ctx: Ctx = {
      me, info, main, announce,
      every(ms, f) {
        const run = () => {
          Promise.resolve(f()).catch((e) => announce(errorText(e), 'error'));
        };
        run();
        timers.push(window.setInterval(run, ms));
      },
    };
    screen.render(ctx);
    (document.getElementById('screen-h') as HTMLElement | null)?.focus({ preventScroll: true });
  };
  window.onhashchange = show;
  show();
}

async function boot(): Promise<void> {
  // the skip link must not change the hash (the hash is the route)
  document.querySelector('.skip')?.addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  setUnauthorizedHandler(() => signOut('Your session ended or the token is no longer valid; sign in again.'));
  oidc = (await consoleConfig().catch(() => ({ oidc: null }))).oidc;
  try {
    const token = await finishSignIn(oidc);
    if (token) auth.set(token);
  } catch (e) {
    showSignIn(errorText(e));
    return;
  }
  if (auth.token()) await start();
  else showSignIn();
}

void boot();
