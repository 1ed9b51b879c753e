// The web console end to end in a real browser (playwright-core driving Debian's chromium) against a live broker,
// real PostgreSQL and real psql: request → approve → one-time credentials → psql → revoke in the console → audit → rules check.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, testConfigObject, TOKENS, type TestBroker } from '../helpers/broker.js';
import { ensureMysqlFixtures, MY, MY_ROLES } from '../helpers/mysql.js';
import { spawnLogged, type Spawned } from '../helpers/process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** UPDATE_SCREENSHOTS=1 rewrites docs/screenshots; otherwise they go to the broker's temp folder (still taken, still checked). */
const SHOT_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? resolve('docs/screenshots') : '';

/** The approval-required write policy the issue asks for: dev requests write, a dba approves. */
const ACCESS = [
  // approvers here decide statement reviews of read grants
  { name: 'read-self-service', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0, approvers: ['group:dba'] },
  { name: 'write-needs-dba', requesters: ['group:dev', 'group:deploy'], access: ['write'], maxTtl: '2h', approvals: 1, approvers: ['group:dba'] },
  { name: 'break-glass', requesters: ['group:dba'], access: ['admin'], maxTtl: '30m', approvals: 0 },
];

describe('web console in a real browser', () => {
  let b: TestBroker;
  let browser: Browser;
  let shots: string;
  const children: Spawned[] = [];
  const pageErrors: string[] = [];
  let rulesDir = '';

  beforeAll(async () => {
    // the shipped rules plus one `review` rule, so a statement waits for an approver
    rulesDir = mkdtempSync(join(tmpdir(), 'dbw-console-rules-'));
    for (const f of readdirSync('rules')) if (f.endsWith('.yaml')) copyFileSync(join('rules', f), join(rulesDir, f));
    writeFileSync(join(rulesDir, 'console-review.yaml'), [
      'ruleset: console-review', 'description: reading the server version needs a second pair of eyes (console test)', 'rules:',
      '  - id: review-version', '    when: { functions: [version] }', '    action: review', '    message: a DBA looks at this first', '',
    ].join('\n'));
    await ensureMysqlFixtures();
    b = await startTestBroker({
      access: ACCESS, rules: rulesDir,
      listen: { postgres: '127.0.0.1:0', mysql: '127.0.0.1:0', admin: '127.0.0.1:0' },
      targets: {
        app: { ...(testConfigObject('x').targets as { app: Record<string, unknown> }).app, rulesets: ['safe-defaults', 'console-review'] },
        my: { protocol: 'mysql', host: MY.host, port: MY.port, databases: ['dbw_my'], tls: 'disable', rulesets: ['safe-defaults'], roles: { read: MY_ROLES.ro, write: MY_ROLES.rw } },
      },
    });
    shots = SHOT_DIR || join(b.stateDir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  });

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await browser?.close();
    await b?.close();
    if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
  });

  async function signedIn(who: keyof typeof TOKENS): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    // CSP violations and script errors show up here; the test fails on any
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${who}: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
    await page.goto(`${b.admin.url}/ui/`);
    await page.getByLabel('API token').fill(TOKENS[who]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.locator('.who').textContent()).toContain(who);
    return { ctx, page };
  }

  it('serves the console with CSP and security headers and no token in any URL', async () => {
    const res = await fetch(`${b.admin.url}/ui/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('set-cookie')).toBeNull();
    const html = await res.text();
    // no inline script or style, nothing from another origin
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    // relative redirect keeps a reverse proxy's path prefix
    const redirect = await fetch(`${b.admin.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('ui/');
    // only the built files are reachable: no traversal out of the folder
    for (const p of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/app.js.map']) {
      expect((await fetch(`${b.admin.url}${p}`)).status, p).not.toBe(200);
    }
  });

  it('request → approve → credentials once → psql → revoke in the console ends psql; audit intact; rules check refuses', async () => {
    const started = Date.now();
    // another grant's psql session runs the whole time and must survive the revoke of alice's grant
    const other = await b.grant({ who: 'ci', access: 'read' });
    const otherPsql = spawnLogged('psql', [b.url(other), '-X', '-c', "SELECT 'ci-in'", '-c', 'SELECT pg_sleep(120)']);
    children.push(otherPsql);
    await otherPsql.waitFor(/ci-in/);
    // a statement held for review on that grant
    const held = spawnLogged('psql', [b.url(other), '-X', '-c', 'SELECT version()']);
    await held.waitFor(/review required \((rv_[A-Za-z0-9_-]+)\) by rule review-version/);
    const reviewId = /review required \((rv_[A-Za-z0-9_-]+)\)/.exec(held.output())![1]!;

    const [alice, bob] = await Promise.all([signedIn('alice'), signedIn('bob')]);

    // --- alice asks for write access; the policy needs a dba's approval
    const a = alice.page;
    await a.getByLabel('Target').selectOption('app');
    await a.getByLabel('Access').selectOption('write');
    await expect.poll(() => a.locator('.limits').textContent()).toContain('needs 1 approval');
    await a.getByLabel('Database').selectOption('dbw_app');
    await a.getByLabel('TTL').fill('10m');
    await a.getByLabel('Reason').fill('fix order 4711 (console test)');
    await a.screenshot({ path: join(shots, 'request.png') });
    await a.getByRole('button', { name: 'Request', exact: true }).click();
    await expect.poll(() => a.locator('#status').textContent()).toMatch(/is pending/);
    const requestId = /(req_[A-Za-z0-9_-]+)/.exec((await a.locator('#status').textContent()) ?? '')![1]!;

    // --- bob approves in the console (alice's own page offers no approve button for her own request)
    await a.goto(`${b.admin.url}/ui/#/approvals`);
    await expect(a.getByTestId(`request-${requestId}`).getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await expect.poll(() => a.getByTestId(`request-${requestId}`).textContent()).toContain('Your own request');
    await a.goto(`${b.admin.url}/ui/#/request`);

    const p = bob.page;
    await p.goto(`${b.admin.url}/ui/#/approvals`);
    const card = p.getByTestId(`request-${requestId}`);
    await expect.poll(() => card.textContent(), { timeout: 5000 }).toContain('fix order 4711');
    const reviewCard = p.getByTestId(`review-${reviewId}`);
    await expect.poll(() => reviewCard.textContent(), { timeout: 5000 }).toContain('review-version');
    expect(await reviewCard.locator('pre').textContent()).toBe('SELECT version()');
    await p.screenshot({ path: join(shots, 'approvals.png') });
    await card.getByLabel(/Reason for request/).fill('ok for 10 minutes');
    await card.getByRole('button', { name: 'Approve' }).click();
    // the statement review: approve once, the exact text passes once, the next run is held again
    await reviewCard.getByRole('button', { name: 'Approve once' }).click();
    await expect.poll(() => p.locator('#status').textContent(), { timeout: 5000 }).toContain(`review ${reviewId}: approved`);
    const released = spawnLogged('psql', [b.url(other), '-X', '-At', '-c', 'SELECT version()']);
    expect(await released.exited).toBe(0);
    expect(released.output()).toMatch(/PostgreSQL \d+/);
    const heldAgain = spawnLogged('psql', [b.url(other), '-X', '-c', 'SELECT version()']);
    await heldAgain.waitFor(/review required/);

    // --- the credentials appear once on alice's page, with connect lines that carry no password
    const creds = a.getByTestId('credentials');
    await creds.waitFor({ timeout: 5000 });
    const login = (await a.getByTestId('cred-login').textContent())!;
    const password = (await a.getByTestId('cred-password').textContent())!;
    expect(login).toMatch(/^alice_/);
    expect(password.length).toBeGreaterThanOrEqual(20);
    const psqlLine = (await a.getByTestId('line-psql').textContent())!;
    expect(psqlLine).toContain(`user=${login}`);
    expect(psqlLine).not.toContain(password);
    expect(await a.getByTestId('line-dbwarden-connect').textContent()).toBe('dbwarden connect app --database dbw_app');
    // the password is fetched once: the API refuses a second issue, and nothing keeps it in storage
    const again = await fetch(`${b.admin.url}/v1/requests/${requestId}/credentials`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}` } });
    expect(again.status).toBe(410);
    const stored = await a.evaluate<string>('JSON.stringify(Object.entries(sessionStorage)) + JSON.stringify(Object.entries(localStorage)) + document.cookie');
    expect(stored).not.toContain(password);
    await a.evaluate(`document.querySelector('[data-testid="cred-password"]').textContent = '${'•'.repeat(32)} (screenshot)'`);
    await a.screenshot({ path: join(shots, 'credentials.png') });

    // --- alice connects with psql through the broker using the console's line; the password comes from the environment
    const conninfo = /^psql "(.*)"$/.exec(psqlLine)![1]!;
    const alicePsql = spawnLogged('psql', [conninfo, '-X', '-c', "SELECT 'alice-in'", '-c', 'DELETE FROM dbw_console_none', '-c', 'SELECT pg_sleep(120)'], { env: { PGPASSWORD: password } });
    children.push(alicePsql);
    await alicePsql.waitFor(/alice-in/);
    await alicePsql.waitFor(/blocked by rule unscoped-write/);

    // --- bob sees both sessions, then revokes alice's grant in the console
    await p.goto(`${b.admin.url}/ui/#/grants`);
    const grantId = (await b.service.getRequest(requestId)).grantId!;
    await expect.poll(() => p.locator('main').textContent(), { timeout: 5000 }).toContain(login);
    await expect.poll(async () => (await p.locator('main table').nth(1).textContent()) ?? '', { timeout: 5000 }).toContain(other.grantId);
    const sessionsText = (await p.locator('main table').nth(1).textContent()) ?? '';
    expect(sessionsText).toContain('app/dbw_app');
    expect(sessionsText).toContain('127.0.0.1');
    await expect.poll(() => p.getByTestId(`left-${grantId}`).textContent()).toMatch(/^\d+m \d\ds$/);
    await p.screenshot({ path: join(shots, 'grants-sessions.png') });
    const revokedAt = Date.now();
    await p.getByTestId(`revoke-${grantId}`).click();
    await alicePsql.waitFor(/FATAL: +dbwarden: grant revoked/, 5000);
    expect(await alicePsql.exited).not.toBe(0);
    expect(Date.now() - revokedAt).toBeLessThan(3000);
    // the console shows the change without a reload (polling every 1.5 s)
    await expect.poll(() => p.locator('main').textContent(), { timeout: 2500, interval: 100 }).not.toContain(login);
    // the other grant's session is untouched
    expect(otherPsql.child.exitCode).toBeNull();
    expect((await b.service.getGrant(other.grantId)).status).toBe('active');

    // --- the audit view shows each event and the chain is intact
    await p.goto(`${b.admin.url}/ui/#/audit`);
    await expect.poll(() => p.getByTestId('verify').textContent(), { timeout: 5000 }).toMatch(/Hash chain intact: \d+ events verified/);
    await p.getByLabel('Grant').fill(grantId);
    await p.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => p.locator('main table').textContent(), { timeout: 5000 }).toContain('grant.revoked');
    const trail = (await p.locator('main table').textContent()) ?? '';
    for (const type of ['grant.activated', 'session.started', 'statement', 'grant.revoked', 'session.ended']) expect(trail).toContain(type);
    expect(trail).toContain("SELECT 'alice-in'");
    await p.getByLabel('Grant').fill('');
    await p.getByLabel('Identity').fill('alice');
    await p.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => p.locator('main table').textContent(), { timeout: 5000 }).toContain('grant.requested');
    expect((await p.locator('main table').textContent()) ?? '').toContain('grant.approved');
    // export of the filtered view: JSON lines, each event as stored
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export JSON lines' }).click()]);
    const path = await download.path();
    const lines = (await import('node:fs')).readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; hash: string; identity?: string; actor?: string });
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.every((l) => typeof l.hash === 'string' && (l.identity === 'alice' || l.actor === 'alice'))).toBe(true);
    await p.screenshot({ path: join(shots, 'audit.png') });

    // --- "check this SQL" refuses an unscoped DELETE, naming the rule
    await p.goto(`${b.admin.url}/ui/#/rules`);
    await p.getByLabel('SQL', { exact: true }).fill('DELETE FROM orders');
    await p.getByLabel('Access').selectOption('write');
    await p.getByRole('button', { name: 'Check' }).click();
    const result = p.getByTestId('check-result');
    await expect.poll(() => result.textContent(), { timeout: 5000 }).toContain('Decision: block');
    expect(await result.textContent()).toContain('unscoped-write');
    await p.screenshot({ path: join(shots, 'rules.png') });
    await p.getByLabel('SQL', { exact: true }).fill('DELETE FROM orders WHERE id = 4711');
    await p.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => result.textContent(), { timeout: 5000 }).toContain('Decision: allow');

    // --- MariaDB: a read grant on the mysql target is active at once; the console's mysql line connects
    await a.goto(`${b.admin.url}/ui/#/request`);
    await a.getByLabel('Target').selectOption('my');
    await a.getByLabel('Access').selectOption('read');
    await expect.poll(() => a.locator('.limits').textContent()).toContain('active at once');
    await a.getByLabel('Reason').fill('look at dbw_my (console test)');
    await a.getByRole('button', { name: 'Request', exact: true }).click();
    await a.getByTestId('credentials').waitFor({ timeout: 5000 });
    const myLine = (await a.getByTestId('line-mysql').textContent())!;
    const myLogin = (await a.getByTestId('cred-login').textContent())!;
    const myPassword = (await a.getByTestId('cred-password').textContent())!;
    expect(myLine).toBe(`mysql -h 127.0.0.1 -P ${b.mysql!.port} -u ${myLogin} -p dbw_my`);
    const myArgs = myLine.split(' ').slice(1).filter((x) => x !== '-p');
    const my = spawnLogged('mariadb', [...myArgs, `--password=${myPassword}`, '--skip-ssl', '-N', '-e', "SELECT 'my-in'; DELETE FROM t_none"]);
    await my.waitFor(/my-in/);
    await my.waitFor(/blocked by rule unscoped-write/);
    // the rules box answers for the mysql dialect too
    await p.getByLabel('Target', { exact: true }).selectOption('my');
    await expect.poll(() => p.getByLabel('Dialect').inputValue()).toBe('mysql');
    await p.getByLabel('SQL', { exact: true }).fill('DELETE FROM t /*! WHERE 1=1 */');
    await p.getByRole('button', { name: 'Check' }).click();
    await expect.poll(() => result.textContent(), { timeout: 5000 }).toContain('Decision: block');

    // --- the overview pictures draw from the audit trail
    await p.goto(`${b.admin.url}/ui/#/overview`);
    await expect.poll(() => p.locator('figure').count(), { timeout: 5000 }).toBe(3);
    const statementsFig = (await p.locator('figure svg').first().getAttribute('aria-label')) ?? '';
    expect(statementsFig).toMatch(/allow: [1-9]/);
    expect((await p.locator('figure svg').nth(1).getAttribute('aria-label')) ?? '').toContain('unscoped-write: 2');
    await p.screenshot({ path: join(shots, 'overview.png') });

    // --- phone width: the grants screen still works (stacked rows, reachable buttons)
    await p.setViewportSize({ width: 390, height: 844 });
    await p.goto(`${b.admin.url}/ui/#/grants`);
    await expect.poll(() => p.locator('main').textContent(), { timeout: 5000 }).toContain(other.grantId);
    const scrollWidth = await p.evaluate<number>('document.documentElement.scrollWidth');
    expect(scrollWidth).toBeLessThanOrEqual(390);
    await p.screenshot({ path: join(shots, 'phone-grants.png'), fullPage: true });
    await p.setViewportSize({ width: 1280, height: 800 });

    // keyboard: the nav is reachable and operable with Tab and Enter
    await p.goto(`${b.admin.url}/ui/#/request`);
    await p.locator('.skip').focus();
    let reached = false;
    for (let i = 0; i < 6 && !reached; i++) {
      await p.keyboard.press('Tab');
      reached = (await p.evaluate<string | undefined>('document.activeElement?.textContent')) === 'Approvals';
    }
    expect(reached).toBe(true);
    await p.keyboard.press('Enter');
    await expect.poll(() => p.evaluate<string>('location.hash')).toBe('#/approvals');

    // extend and kill from the console: the other grant gets 15 more minutes, then its psql session is killed
    await p.goto(`${b.admin.url}/ui/#/grants`);
    const before = Date.parse((await b.service.getGrant(other.grantId)).expiresAt);
    await p.getByLabel(`Extend ${other.grantId} by`).selectOption('15m');
    await p.locator(`[data-key="ext-${other.grantId}"]`).click();
    await expect.poll(async () => Date.parse((await b.service.getGrant(other.grantId)).expiresAt) - before, { timeout: 5000 }).toBeGreaterThanOrEqual(14 * 60_000);
    await expect.poll(() => p.getByTestId(`left-${other.grantId}`).textContent(), { timeout: 3000 }).toMatch(/^2\dm /);
    const otherSession = (await b.registry.list()).find((x) => x.grantId === other.grantId)!;
    await p.locator(`[data-key="kill-${otherSession.id}"]`).click();
    await otherPsql.waitFor(/FATAL: +dbwarden: session killed/, 5000);
    expect(pageErrors).toEqual([]);
    // a budget, not a check: chromium on a loaded 2-core machine takes seconds per page
    if (Date.now() - started > 60_000) console.warn(`console browser test took ${Date.now() - started} ms`);
  }, 120_000);
});
