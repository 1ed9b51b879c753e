// SIGHUP rule reloads while pgbench drives a real `dbwarden serve` process: no transaction fails while the rules
// are swapped twenty times, and a changed rule set takes effect at once for sessions that were already open.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, testConfigObject } from '../helpers/broker.js';
import { freePort, spawnLogged, type Spawned, untilReady, requestGrant } from '../helpers/process.js';

const DB = 'dbw_fault_reload';
let dir: string;
let rulesDir: string;
let serve: Spawned;
let pgPort: number;
let adminUrl: string;
let url: string;

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '5', ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const EXTRA_RULES = (block: boolean) => stringify({
  ruleset: 'reload-probe',
  description: 'changed by the reload test',
  rules: [{ id: 'probe-md5', description: 'md5 probe', when: { functions: ['md5'] }, action: block ? 'block' : 'warn', message: 'md5 is refused in this phase' }],
});

beforeAll(async () => {
  await adminSql(`drop database if exists ${DB} with (force)`, 'postgres');
  await adminSql(`create database ${DB} owner dbw_rw`, 'postgres');
  const init = await run('pgbench', ['-h', '127.0.0.1', '-p', '5432', '-U', 'dbw_rw', '-i', '-s', '1', '-q', DB], { PGPASSWORD: 'dbw_rw_secret' });
  if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

  dir = mkdtempSync(join(tmpdir(), 'dbw-reload-'));
  rulesDir = join(dir, 'rules');
  cpSync(resolve('rules'), rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, 'reload-probe.yaml'), EXTRA_RULES(false));
  pgPort = await freePort();
  const adminPort = await freePort();
  adminUrl = `http://127.0.0.1:${adminPort}`;
  const base = testConfigObject(join(dir, 'state'), {});
  const app = (base.targets as Record<string, Record<string, unknown>>).app!;
  const cfg = testConfigObject(join(dir, 'state'), {
    listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
    rules: rulesDir,
    targets: { app: { ...app, databases: [DB], rulesets: ['safe-defaults', 'reload-probe'] } },
  });
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
  serve = spawnLogged('node', ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  await untilReady(adminUrl);
  const grant = await requestGrant(adminUrl, TOKENS.alice, { target: 'app', access: 'write', reason: 'reload test', databases: [DB] });
  url = `postgresql://${grant.login}:${grant.password}@127.0.0.1:${pgPort}/${DB}?sslmode=disable`;
}, 90_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await serve.exited;
  }
  rmSync(dir, { recursive: true, force: true });
  await adminSql(`drop database if exists ${DB} with (force)`, 'postgres').catch(() => undefined);
});

describe('SIGHUP rule reload under pgbench load', () => {
  it.each(['simple', 'extended', 'prepared'])('-M %s: twenty reloads, no failed transaction', async (mode) => {
    const bench = run('pgbench', ['-S', '-T', '5', '-M', mode, '-c', '4', '-j', '2', url]);
    let reloads = 0;
    const hup = setInterval(() => {
      if (reloads >= 20) return;
      reloads++;
      // every other reload also changes a rule file, so the pool really swaps rule sets under traffic
      writeFileSync(join(rulesDir, 'reload-probe.yaml'), EXTRA_RULES(false) + (reloads % 2 ? '# touched\n' : ''));
      serve.child.kill('SIGHUP');
    }, 200);
    const r = await bench;
    clearInterval(hup);
    expect(reloads).toBeGreaterThanOrEqual(15);
    expect(r.code, r.stderr).toBe(0);
    expect(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1]).toBe('0');
    expect(Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThan(0);
    expect(serve.child.exitCode).toBeNull();
  }, 60_000);

  it('a changed rule set applies at once to a session opened before the reload', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query("select md5('a') as h")).rows[0].h).toHaveLength(32);
      writeFileSync(join(rulesDir, 'reload-probe.yaml'), EXTRA_RULES(true));
      serve.child.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      let err: Error | null = null;
      while (Date.now() < deadline) {
        // a new literal each time, so no cached decision from before the reload can answer
        err = await c.query(`select md5('${Date.now()}') as h`).then(() => null, (e: Error) => e);
        if (err) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(err?.message).toMatch(/blocked by rule probe-md5/);
      // and back: the next reload lifts it again
      writeFileSync(join(rulesDir, 'reload-probe.yaml'), EXTRA_RULES(false));
      serve.child.kill('SIGHUP');
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await c.query("select md5('b') as h").then(() => true, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ok).toBe(true);
    } finally {
      await c.end();
    }
  });
});
