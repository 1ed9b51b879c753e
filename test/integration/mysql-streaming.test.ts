// `mysql --quick` reading 3 million rows through a broker process: rows stream through without being
// buffered, so the broker's resident memory grows by less than 50 MB.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, testConfigObject } from '../helpers/broker.js';
import { ensureMysqlFixtures, mysqlTarget } from '../helpers/mysql.js';
import { freePort, rssOf, spawnLogged, type Spawned } from '../helpers/process.js';

const run = promisify(execFile);
let dir: string;
let serve: Spawned;
let myPort: number;
let adminUrl: string;

beforeAll(async () => {
  await ensureMysqlFixtures();
  dir = mkdtempSync(join(tmpdir(), 'dbw-mystream-'));
  const [my, admin] = [await freePort(), await freePort()];
  myPort = my;
  adminUrl = `http://127.0.0.1:${admin}`;
  const config = testConfigObject(dir, { listen: { mysql: `127.0.0.1:${my}`, admin: `127.0.0.1:${admin}` }, targets: { my: mysqlTarget() } });
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify(config));
  serve = spawnLogged('node', ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`broker did not start:\n${serve.output()}`);
}, 60_000);

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('streaming through a broker process', () => {
  it('mysql --quick SELECT of 3M rows keeps broker RSS growth under 50 MB', async () => {
    const res = await fetch(`${adminUrl}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'my', access: 'read', ttl: '10m', reason: 'rss test', databases: ['dbw_my'] }),
    });
    const { grant } = (await res.json()) as { grant: { login: string; password: string } };
    const args = ['-h', '127.0.0.1', '-P', String(myPort), '-u', grant.login, `-p${grant.password}`, '--skip-ssl', '--quick', '-N', 'dbw_my', '-e'];
    const pid = serve.child.pid!;
    // warm up code paths so the baseline is not the cold process
    await run('mariadb', [...args, 'SELECT seq, MD5(seq) FROM seq_1_to_100000'], { maxBuffer: 64 << 20 });
    const before = rssOf(pid);
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
    try {
      await run('sh', ['-c', `mariadb ${args.map((a) => `'${a}'`).join(' ')} 'SELECT seq, MD5(seq) FROM seq_1_to_3000000' | wc -l > ${join(dir, 'count')}`]);
    } finally {
      clearInterval(timer);
    }
    const { readFileSync } = await import('node:fs');
    expect(Number(readFileSync(join(dir, 'count'), 'utf8').trim())).toBe(3_000_000);
    const growthMb = (peak - before) / 2 ** 20;
    console.log(`broker RSS before ${(before / 2 ** 20).toFixed(1)} MB, peak ${(peak / 2 ** 20).toFixed(1)} MB, growth ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(50);
  }, 60_000);
});
