// The audit trail end to end: kill -9 of a `dbwarden serve` process loses no statement whose result reached psql;
// no password or token reaches the audit file or the pino log; `audit.statementText: normalized` and
// `audit.maxBytes` rotation through a running broker.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { trailFiles } from '../../src/audit/trail-files.js';
import { verifyAuditFile, verifyAuditTrail } from '../../src/audit/verify.js';
import { runCli } from '../../src/cli/run-cli.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startBroker } from '../../src/main.js';
import { startTestBroker, testConfigObject, TOKENS } from '../helpers/broker.js';
import { freePort, spawnLogged } from '../helpers/process.js';

const auth = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' });

async function requestGrant(adminUrl: string, who: keyof typeof TOKENS, access: string) {
  const res = await fetch(`${adminUrl}/v1/requests`, { method: 'POST', headers: auth(who), body: JSON.stringify({ target: 'app', access, ttl: '10m', reason: 'audit test', databases: ['dbw_app'] }) });
  const body = (await res.json()) as { grant: { grantId: string; login: string; password: string } };
  expect(res.status).toBeLessThan(300);
  return body.grant;
}

function statementTexts(files: string[]): string[] {
  return files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; text?: string }))
    .filter((l) => l.type === 'statement').map((l) => l.text!);
}

describe('audit durability through a real `dbwarden serve`', () => {
  it('after kill -9 the file verifies and holds every statement whose result psql printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbw-audit-kill-'));
    const [pgPort, adminPort] = [await freePort(), await freePort()];
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const cfg = testConfigObject(join(dir, 'state'), { listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` }, tls: { clients: 'disable' } });
    writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
    // run the TypeScript source (not dist/), so the test checks the code in this tree
    const serve = spawnLogged('node', ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
    let psql: ReturnType<typeof spawn> | undefined;
    try {
      for (let i = 0; i < 200 && !(await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      const g = await requestGrant(adminUrl, 'alice', 'write');

      psql = spawn('psql', [`postgresql://${g.login}:${g.password}@127.0.0.1:${pgPort}/dbw_app?sslmode=disable`, '-XAt', '-v', 'ON_ERROR_STOP=0'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const acked: string[] = [];
      let out = '';
      const onOutput = (b: Buffer) => {
        out += b.toString();
        for (const m of out.matchAll(/(kill9-m\d+)|blocked by rule (unscoped-write)/g)) if (!acked.includes(m[1] ?? 'delete kill9-blocked')) acked.push(m[1] ?? 'delete kill9-blocked');
      };
      psql.stdout!.on('data', onOutput);
      psql.stderr!.on('data', onOutput);
      const send = (sql: string) => psql!.stdin!.write(`${sql}\n`);
      send('delete from kill9_blocked;');
      for (let i = 0; i < 40; i++) {
        send(`select 'kill9-m${i}';`);
        const want = `kill9-m${i}`;
        // up to 20 s each (the first answer includes the broker's login upstream and its first catalog reads)
        for (let t = 0; t < 2000 && !acked.includes(want); t++) await new Promise((r) => setTimeout(r, 10));
        expect(acked).toContain(want);
      }
      // more statements in flight while the broker dies: some may be answered, some not; none answered may be missing
      for (let i = 40; i < 80; i++) send(`select 'kill9-m${i}';`);
      serve.child.kill('SIGKILL');
      await serve.exited;
      await new Promise((r) => setTimeout(r, 300));
      psql.stdin!.end();

      const file = join(dir, 'state', 'audit.jsonl');
      const v = verifyAuditFile(file);
      expect(v.ok, v.reason).toBe(true);
      const texts = statementTexts([file]);
      expect(acked.length).toBeGreaterThanOrEqual(41);
      expect(texts).toContain('delete from kill9_blocked;');
      for (const m of acked.filter((a) => a.startsWith('kill9-m'))) expect(texts, m).toContain(`select '${m}';`);

      // a restarted broker continues the same chain
      const again = spawnLogged('node', ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
      try {
        for (let i = 0; i < 200 && !(await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
        await requestGrant(adminUrl, 'alice', 'read');
      } finally {
        again.child.kill('SIGTERM');
        await again.exited;
      }
      const after = verifyAuditFile(file);
      expect(after.ok, after.reason).toBe(true);
      expect(after.count).toBeGreaterThan(v.count);
    } finally {
      psql?.kill('SIGKILL');
      serve.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('secrets never reach the audit file or the log', () => {
  it('greps the audit trail and the captured pino output for every password and token used', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dbw-audit-secrets-'));
    let logged = '';
    const logger = createLogger('trace', { write: (s: string) => void (logged += s) });
    const config = parseConfig(stringify(testConfigObject(stateDir, { log: { level: 'trace' } })), join(stateDir, 'dbwarden.yaml'), {});
    const broker = await startBroker(config, { logger });
    const adminUrl = broker.admin.url;
    const secrets: string[] = [TOKENS.alice, TOKENS.bob, TOKENS.ci, 'dbw_ro_secret', 'dbw_rw_secret'];
    try {
      const w = await requestGrant(adminUrl, 'alice', 'write');
      const r = await requestGrant(adminUrl, 'ci', 'read');
      const a = await requestGrant(adminUrl, 'bob', 'admin');
      secrets.push(w.password, r.password, a.password, 'Wrong-Pass-77', 'N3w-R0le-Secret', 'My-Sql-Pw-9');
      const url = (c: { login: string; password: string }) => `postgresql://${c.login}:${c.password}@127.0.0.1:${broker.pg!.port}/dbw_app?sslmode=disable`;

      for (const c of [w, r, a]) {
        const client = new pg.Client({ connectionString: url(c) });
        await client.connect();
        await client.query('select current_user');
        await client.query("select 'kept literal' as x");
        await client.query("create role audit_secret_test login password 'N3w-R0le-Secret'").catch(() => {});
        await client.query("alter role audit_secret_test with encrypted password 'N3w-R0le-Secret'").catch(() => {});
        await client.query('drop role if exists audit_secret_test').catch(() => {});
        await client.end();
      }
      const bad = new pg.Client({ connectionString: url({ login: w.login, password: 'Wrong-Pass-77' }) });
      await expect(bad.connect()).rejects.toThrow();
      await fetch(`${adminUrl}/v1/grants`, { headers: auth('bob') });
      await fetch(`${adminUrl}/v1/sessions`, { headers: { authorization: 'Bearer Wrong-Pass-77' } });
      expect((await fetch(`${adminUrl}/v1/grants/${r.grantId}/revoke`, { method: 'POST', headers: auth('ci'), body: '{}' })).status).toBe(200);
      await fetch(`${adminUrl}/v1/rules/check`, { method: 'POST', headers: auth('alice'), body: JSON.stringify({ sql: "set password for x = 'My-Sql-Pw-9'", dialect: 'mysql' }) });
    } finally {
      await broker.close();
    }
    const audit = readFileSync(join(stateDir, 'audit.jsonl'), 'utf8');
    rmSync(stateDir, { recursive: true, force: true });
    // the test did something worth grepping
    expect(audit).toContain("select 'kept literal' as x");
    expect(audit).toMatch(/"type":"auth\.failed"/);
    expect(audit).toMatch(/"type":"grant\.revoked"/);
    expect(audit).toContain("create role audit_secret_test login password '***'");
    // one info line per session start/end and per refused statement, debug per statement
    expect(logged).toMatch(/"level":30,[^\n]*"msg":"session started"/);
    expect(logged).toMatch(/"level":30,[^\n]*"msg":"session ended"/);
    expect(logged).toMatch(/"level":30,[^\n]*"rules":\["privilege-changes"\][^\n]*"msg":"statement refused"/);
    expect(logged).toMatch(/"level":20,[^\n]*"msg":"statement"/);
    for (const s of secrets) {
      expect(audit.includes(s), `audit file contains ${s}`).toBe(false);
      expect(logged.includes(s), `log contains ${s}`).toBe(false);
    }
  }, 60_000);
});

describe('audit settings through a running broker', () => {
  it('statementText: normalized keeps literals out; maxBytes rotates and `audit verify` checks the whole set', async () => {
    await using b = await startTestBroker({ audit: { statementText: 'normalized', maxBytes: 4096 } });
    const cred = await b.grant({ access: 'write' });
    const client = new pg.Client({ connectionString: b.url(cred) });
    await client.connect();
    for (let i = 0; i < 30; i++) await client.query(`select 'ann${i}@example.com' as email, ${9876543210 + i} as n, now() - interval '${i} days' as t`);
    await expect(client.query("delete from customers_x where 'secret-literal' = 'secret-literal'")).rejects.toThrow(/blocked/);
    // the server's own syntax error (42601), as psql users expect; the audit still records the text, normalized
    await expect(client.query("selec 'unparsable-literal'")).rejects.toThrow(/syntax error/);
    await client.end();

    const file = b.config.audit.file;
    const files = trailFiles(file);
    expect(files.length).toBeGreaterThan(1);
    const texts = statementTexts(files);
    expect(texts).toContain('select $1 as email, $2 as n, now() - interval $3 as t');
    expect(texts.filter((t) => t.startsWith('select $1 as email'))).toHaveLength(30);
    expect(texts).toContain('delete from customers_x where $1 = $2');
    expect(texts).toContain('selec $1');
    const all = files.map((f) => readFileSync(f, 'utf8')).join('');
    // markers that cannot show up in hashes, ids or timestamps by chance
    for (const leak of ['ann1@example.com', '987654321', 'secret-literal', 'unparsable-literal', '3 days']) expect(all).not.toContain(leak);

    const v = verifyAuditTrail(file);
    expect(v).toMatchObject({ ok: true, files });
    let out = '';
    const code = await runCli(['audit', 'verify', file], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, env: {} });
    expect(code).toBe(0);
    expect(out).toBe(`ok: ${v.count} events in ${files.length} files, hash chain intact (${file})\n`);
  }, 60_000);
});
