// The README as a newcomer walks it: a fresh clone, `npm start`, the printed psql line, every example of the quick
// start as printed (read from README.md itself, so an example that stops working fails here), the CLI lines it names,
// then Ctrl-C (SIGINT) and exit code 0.
//
// Two deviations, both for time and a shared machine: node_modules is hard-linked from this checkout instead of
// `npm ci` (a real install takes minutes; bench/readme-walk.sh runs the README's exact `npm ci && npm start`), and
// `npm start` gets free ports (`-- --listen … --admin …`) because other test runs on this machine may hold the
// demo's default 7432/7080. The build (`prestart`) runs for real in the clone.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, spawnLogged } from '../helpers/process.js';

const run = promisify(execFile);

/** The quick start's SQL block: each line's statement and what its comment promises. */
export function readmeExamples(readme: string): { sql: string; expect: string }[] {
  const block = /Try, inside psql:\s*```sql\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README has no "Try, inside psql" sql block');
  return block[1]!.split('\n').filter((l) => l.trim()).map((l) => {
    const m = /^(.*?;)\s*--\s*(.*)$/.exec(l.trim());
    if (!m) throw new Error(`README example without a comment saying what happens: ${l}`);
    return { sql: m[1]!, expect: m[2]! };
  });
}

describe('README quick start, walked in a fresh clone', () => {
  it('npm start, the printed psql line, every example as printed, CLI lines, Ctrl-C exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbw-readme-'));
    const clone = join(dir, 'dbwarden');
    let demo: ReturnType<typeof spawnLogged> | undefined;
    try {
      execFileSync('git', ['clone', '-q', resolve('.'), clone]);
      // hard links: the same files as `npm ci` would install from this lock file, in no time
      execFileSync('cp', ['-al', resolve('node_modules'), join(clone, 'node_modules')]);
      expect(existsSync(join(clone, 'dist'))).toBe(false);
      const readme = readFileSync(join(clone, 'README.md'), 'utf8');
      expect(readme).toContain('npm ci && npm start');
      const examples = readmeExamples(readme);
      expect(examples.length).toBeGreaterThanOrEqual(5);

      const [pgPort, adminPort] = [await freePort(), await freePort()];
      demo = spawnLogged('npm', ['start', '--', '--listen', `127.0.0.1:${pgPort}`, '--admin', `127.0.0.1:${adminPort}`], { cwd: clone, detached: true });
      const m = await demo.waitFor(/connect: +(PGPASSFILE=\S+ psql "[^"]+")[\s\S]*CLI: +export (DBWARDEN_URL=\S+) (DBWARDEN_TOKEN=\S+);/, 300_000);
      const [, line, urlVar, tokenVar] = m as unknown as [string, string, string, string];
      // the state lives in the clone, where the README says
      expect(demo.output()).toContain(join(clone, '.dbwarden/demo'));

      const psql = (sql: string) => run('bash', ['-c', `${line} -XA -c ${JSON.stringify(sql)}`], { cwd: clone }).then((r) => ({ ok: true, out: r.stdout, err: r.stderr }), (e) => ({ ok: false, out: e.stdout as string, err: e.stderr as string }));
      for (const ex of examples) {
        const r = await psql(ex.sql);
        const blocked = /^blocked: ([\w-]+)/.exec(ex.expect);
        if (blocked) {
          expect(r.ok, `${ex.sql}: ${r.out}`).toBe(false);
          expect(r.err).toContain(`dbwarden: blocked by rule ${blocked[1]}`);
        } else if (/^allowed/.test(ex.expect)) {
          expect(r.ok, `${ex.sql} should run as the README says: ${r.err}`).toBe(true);
          expect(r.out).toMatch(/^(UPDATE|DELETE|INSERT 0) 1\n$/);
        } else if (/masked/.test(ex.expect)) {
          expect(r.ok, r.err).toBe(true);
          const rows = r.out.trim().split('\n').slice(1, -1).map((l) => l.split('|'));
          expect(rows.length).toBeGreaterThan(0);
          // raw demo values never come back: e-mail and phone are masked
          expect(r.out).toContain('***');
          expect(r.out).not.toMatch(/\b(ada|grace|alan|katherine|edsger)@example\.com/);
          expect(r.out).not.toMatch(/\+44 20 7946|\+1 202 555/);
        } else {
          throw new Error(`README example with a promise this test does not know how to check: -- ${ex.expect}`);
        }
      }

      // the CLI lines the README and the banner name, with the banner's DBWARDEN_URL / DBWARDEN_TOKEN
      const env = { ...process.env, [urlVar.split('=')[0]!]: urlVar.slice(urlVar.indexOf('=') + 1), [tokenVar.split('=')[0]!]: tokenVar.slice(tokenVar.indexOf('=') + 1) };
      const targets = await run('npx', ['--no-install', 'dbwarden', 'targets'], { cwd: clone, env });
      expect(targets.stdout).toMatch(/^demo\s/m);
      const grants = await run('npx', ['--no-install', 'dbwarden', 'grants'], { cwd: clone, env });
      expect(grants.stdout).toContain('demo');
      const check = await run('npx', ['--no-install', 'dbwarden', 'rules', 'check', '--dialect', 'postgres', 'DELETE FROM t'], { cwd: clone }).catch((e) => e);
      expect(check.code).toBe(3);
      expect(check.stdout).toContain('unscoped-write');
      const audit = await run('npx', ['--no-install', 'dbwarden', 'audit', 'verify', join(clone, '.dbwarden/demo/audit.jsonl')], { cwd: clone });
      expect(audit.stdout).toMatch(/ok/i);

      // Ctrl-C in the terminal: SIGINT to the whole foreground process group (npm, sh, node). npm itself ends by
      // that signal, as every npm script does on Ctrl-C (no exit code of its own); dbwarden drains and exits 0
      // (cli-serve-demo.test.ts checks its exit code without npm in between): here, the drain ran to its end,
      // no process of the group is left, and the audit chain it closed is intact.
      const pgid = demo.child.pid!;
      process.kill(-pgid, 'SIGINT');
      const code = await demo.exited;
      expect(code === 0 || demo.child.signalCode === 'SIGINT', demo.output()).toBe(true);
      expect(demo.output()).toContain('SIGINT: draining');
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(-pgid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(() => process.kill(-pgid, 0)).toThrow(/ESRCH/);
      const after = await run('npx', ['--no-install', 'dbwarden', 'audit', 'verify', join(clone, '.dbwarden/demo/audit.jsonl')], { cwd: clone });
      expect(after.stdout).toMatch(/^ok: \d+ events, hash chain intact/);
      expect(readFileSync(join(clone, '.dbwarden/demo/audit.jsonl'), 'utf8')).toContain('"session.ended"');
      demo = undefined;
    } finally {
      if (demo) {
        try {
          process.kill(-demo.child.pid!, 'SIGKILL');
        } catch {
          // the group is gone already: the failure above is the one to report
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
