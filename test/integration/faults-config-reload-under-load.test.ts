// SIGHUP config reloads while pgbench drives a real `dbwarden serve` process: each reload re-reads dbwarden.yaml and
// switches the rule sets bound to the target (targets.app.rulesets) between two probe sets. No pgbench transaction
// fails, and every statement of a session running through the reloads is decided by exactly one binding: its audit
// line names the rule of probe set A or of probe set B, never both and never neither (the binding and the rules are
// swapped in one step). A config file that does not parse, or names a missing rule set, is refused and the binding in
// force stays.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, testConfigObject } from '../helpers/broker.js';
import { freePort, spawnLogged, type Spawned, untilReady, requestGrant } from '../helpers/process.js';

const DB = `dbw_fault_cfg_${Math.random().toString(36).slice(2, 7)}`;
let dir: string;
let serve: Spawned;
let pgPort: number;
let adminUrl: string;
let url: string;
let cfgFor: (sets: string[]) => string;

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '30', ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const PROBE = (name: string) => stringify({
  ruleset: name,
  description: 'bound and unbound by the config reload test',
  rules: [{ id: `${name}-md5`, description: 'md5 probe', when: { functions: ['md5'] }, action: 'warn', message: `md5 seen by ${name}` }],
});

beforeAll(async () => {
  await adminSql(`create database ${DB} owner dbw_rw`, 'postgres');
  const init = await run('pgbench', ['-h', '127.0.0.1', '-p', '5432', '-U', 'dbw_rw', '-i', '-s', '1', '-q', DB], { PGPASSWORD: 'dbw_rw_secret' });
  if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

  dir = mkdtempSync(join(tmpdir(), 'dbw-cfgreload-'));
  const rulesDir = join(dir, 'rules');
  cpSync(resolve('rules'), rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, 'probe-a.yaml'), PROBE('probe-a'));
  writeFileSync(join(rulesDir, 'probe-b.yaml'), PROBE('probe-b'));
  pgPort = await freePort();
  const adminPort = await freePort();
  adminUrl = `http://127.0.0.1:${adminPort}`;
  const base = testConfigObject(join(dir, 'state'), {});
  const app = (base.targets as Record<string, Record<string, unknown>>).app!;
  cfgFor = (sets) => stringify(testConfigObject(join(dir, 'state'), {
    listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
    rules: rulesDir,
    targets: { app: { ...app, databases: [DB], rulesets: ['safe-defaults', ...sets] } },
  }));
  writeFileSync(join(dir, 'dbwarden.yaml'), cfgFor(['probe-a']));
  serve = spawnLogged('node', ['dist/bin.js', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  await untilReady(adminUrl);
  const grant = await requestGrant(adminUrl, TOKENS.alice, { target: 'app', access: 'write', reason: 'config reload test', databases: [DB] });
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

describe('SIGHUP config reload under pgbench load', () => {
  it('21 binding switches during pgbench -M prepared (read/write mix): no failed transaction; each statement sees exactly one binding', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const bench = run('pgbench', ['-T', '10', '-M', 'prepared', '-c', '4', '-j', '2', '-n', url]);
    let reloads = 0;
    let probing = true;
    const probes: number[] = [];
    const probe = (async () => {
      for (let i = 0; probing; i++) {
        // a new literal each time, so the decision is made under the binding in force, not taken from a cache
        await c.query(`select md5('cfg-${i}-${Date.now()}') as h`);
        probes.push(i);
      }
    })();
    const hup = setInterval(() => {
      // an odd count: the run starts under probe-a and ends under probe-b, so both are seen even if a starved
      // broker handles several signals as one (it reads the file as it is when it gets to the signal)
      if (reloads >= 21) return;
      reloads++;
      writeFileSync(join(dir, 'dbwarden.yaml'), cfgFor([reloads % 2 ? 'probe-b' : 'probe-a']));
      serve.child.kill('SIGHUP');
    }, 400);
    const r = await bench;
    while (reloads < 21) await new Promise((res) => setTimeout(res, 100));
    clearInterval(hup);
    // a few statements after the last reload
    const after = probes.length;
    while (probes.length < after + 3) await new Promise((res) => setTimeout(res, 50));
    probing = false;
    await probe;
    await c.end();
    expect(reloads).toBe(21);
    expect(r.code, r.stderr).toBe(0);
    expect(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1]).toBe('0');
    expect(Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThan(0);
    expect(serve.child.exitCode).toBeNull();

    await new Promise((res) => setTimeout(res, 300));
    const lines = readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const md5s = lines.filter((l) => l.type === 'statement' && typeof l.text === 'string' && (l.text as string).startsWith("select md5('cfg-"));
    expect(md5s.length).toBe(probes.length);
    const seen = new Set<string>();
    for (const l of md5s) {
      const rules = (l.rules as string[]).filter((x) => x.startsWith('probe-')).sort();
      expect(rules.length, JSON.stringify(l)).toBe(1);
      seen.add(rules[0]!);
    }
    // both bindings were really in force during the run
    expect([...seen].sort()).toEqual(['probe-a-md5', 'probe-b-md5']);
  }, 90_000);

  it('a config file that does not load is refused; the binding in force stays', async () => {
    writeFileSync(join(dir, 'dbwarden.yaml'), cfgFor(['probe-a']));
    serve.child.kill('SIGHUP');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rulesOf = async () => {
        const tag = `bad-${Date.now()}-${Math.random()}`;
        await c.query(`select md5('${tag}') as h`);
        await new Promise((res) => setTimeout(res, 100));
        const line = readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.text === 'string' && (l.text as string).includes(tag));
        return (line?.rules as string[]).filter((x) => x.startsWith('probe-'));
      };
      let rules: string[] = [];
      for (let i = 0; i < 50 && rules[0] !== 'probe-a-md5'; i++) rules = await rulesOf();
      expect(rules).toEqual(['probe-a-md5']);
      // a missing rule set, then a file that is not YAML: both refused, probe-a stays bound
      writeFileSync(join(dir, 'dbwarden.yaml'), cfgFor(['no-such-set']));
      const missing = await fetch(`${adminUrl}/v1/rules/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.bob}` } });
      expect(missing.status).toBe(422);
      expect(((await missing.json()) as { ok: boolean; errors: string[] }).errors.join(' ')).toMatch(/no-such-set/);
      writeFileSync(join(dir, 'dbwarden.yaml'), 'targets: [unclosed\n');
      serve.child.kill('SIGHUP');
      await serve.waitFor(/rules reload failed; keeping the rules in force[\s\S]*rules reload failed; keeping the rules in force/, 10_000);
      expect(await rulesOf()).toEqual(['probe-a-md5']);
      expect(serve.child.exitCode).toBeNull();
    } finally {
      await c.end();
    }
  }, 60_000);
});
