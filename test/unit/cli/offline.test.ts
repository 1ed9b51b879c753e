// CLI commands that need no broker: help, usage errors, token new, formatting helpers.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { connectLines } from '../../../src/cli/connect-lines.js';
import { COMMAND_HELP } from '../../../src/cli/help.js';
import { formatTable } from '../../../src/cli/table.js';
import { relativeTime, shortDuration } from '../../../src/cli/time-text.js';
import { cli } from './helpers.js';

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('help and usage errors', () => {
  it('bare dbwarden prints the help, exit 0', async () => {
    const r = await cli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: dbwarden <command>');
    expect(r.stderr).toBe('');
  });

  it('--version, -V and `version` print the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const argv of [['--version'], ['-V'], ['version']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`dbwarden ${version}\n`);
    }
  });

  it('every command answers --help with its own usage, without a token and without calling anything', async () => {
    for (const c of COMMAND_HELP) {
      if (c.name === 'demo' || c.name === 'serve') continue; // the executable answers those (cli-lifecycle test)
      const r = await cli([...c.name.split(' '), '--help'], { DBWARDEN_URL: 'http://127.0.0.1:1' });
      expect(r.code, c.name).toBe(0);
      expect(r.stdout, c.name).toContain(`usage: dbwarden ${c.name}`);
      expect(r.stderr, c.name).toBe('');
    }
    const group = await cli(['rules', '--help']);
    expect(group.stdout).toContain('rules check');
    expect(group.stdout).toContain('rules lint');
  });

  it('--help lists every command including demo and serve, exit 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['demo', 'serve', 'connect TARGET', 'targets', 'request TARGET', 'approve', 'deny', 'grants', 'revoke', 'extend', 'sessions', 'kill', 'reviews', 'review approve', 'review deny', 'rules check', 'rules lint', 'audit verify', 'audit tail', 'token new', '--version']) {
      expect(r.stdout).toContain(word);
    }
  });

  it.each([
    [['frobnicate'], 'unknown command'],
    [['rules'], 'needs a subcommand'],
    [['review', 'maybe', 'x'], 'unknown command'],
    [['grants', '--bogus'], 'bogus'],
    [['request', 'app', '--ttl', '30m', '--reason', 'x'], '--access'],
    [['request', 'app', '--access', 'read', '--ttl', 'soon', '--reason', 'x'], '--ttl'],
    [['request', 'app', '--access', 'read', '--ttl', '30m'], '--reason'],
    [['approve'], 'missing argument'],
    [['kill', 'a', 'b'], 'unexpected argument'],
    [['demo'], 'dbwarden executable'],
  ])('%j exits 2 with one clear line', async (argv, fragment) => {
    const r = await cli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dbwarden: [^\n]+\n$/);
    expect(r.stderr).toContain(fragment);
    expect(r.stdout).toBe('');
  });

  it('a client command without a token is a usage error naming DBWARDEN_TOKEN', async () => {
    const r = await cli(['grants']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DBWARDEN_TOKEN');
  });

  it('an unreachable broker is one line and exit 1', async () => {
    const port = await closedPort();
    const r = await cli(['grants', '--url', `http://127.0.0.1:${port}`], { DBWARDEN_TOKEN: 't' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach the dbwarden admin API at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });
});

describe('token new', () => {
  it('prints a token and its sha256', async () => {
    const r = await cli(['token', 'new']);
    expect(r.code).toBe(0);
    const token = /^token\s+(dbw_[A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
    const hash = /^tokenSha256\s+([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
    expect(token).toBeDefined();
    expect(hash).toBe(createHash('sha256').update(token!).digest('hex'));
  });

  it('--json gives {token, tokenSha256}, fresh each time', async () => {
    const a = JSON.parse((await cli(['token', 'new', '--json'])).stdout);
    const b = JSON.parse((await cli(['token', 'new', '--json'])).stdout);
    expect(Object.keys(a).sort()).toEqual(['token', 'tokenSha256']);
    expect(a.tokenSha256).toBe(createHash('sha256').update(a.token).digest('hex'));
    expect(a.token).not.toBe(b.token);
  });
});

describe('formatting', () => {
  it('formatTable aligns columns', () => {
    const t = formatTable(['ID', 'STATUS'], [['gr_1', 'active'], ['gr_12345', 'revoked']]);
    expect(t).toBe('ID        STATUS\ngr_1      active\ngr_12345  revoked\n');
  });

  it('durations keep two units', () => {
    expect(shortDuration(90_061_000)).toBe('1d1h');
    expect(shortDuration(29 * 60_000 + 59_400)).toBe('29m59s');
    expect(relativeTime(new Date(1_000_000 + 45_000).toISOString(), 1_000_000)).toBe('in 45s');
    expect(relativeTime(new Date(1_000_000 - 120_000).toISOString(), 1_000_000)).toBe('2m ago');
  });

  it('connect lines: wildcard listen uses the API host, never a password, protocol from info', () => {
    const info = { listen: { postgres: '0.0.0.0:7432', mysql: '10.0.0.5:7306' }, targets: { app: { protocol: 'postgres' as const, databases: ['app'] }, shop: { protocol: 'mysql' as const, databases: ['shop'] } } };
    expect(connectLines({ login: 'alice_ab12cd', target: 'app', apiUrl: 'http://broker.example:7080', info }))
      .toEqual(['psql "postgresql://alice_ab12cd@broker.example:7432/app"']);
    expect(connectLines({ login: 'bob_zz', target: 'shop', database: 'shop', apiUrl: 'http://x:7080', info }))
      .toEqual(['mysql -h 10.0.0.5 -P 7306 -u bob_zz -p shop']);
    expect(connectLines({ login: 'a', target: 'unknown', database: 'd', apiUrl: 'http://127.0.0.1:7080' })).toEqual([
      'psql "postgresql://a@127.0.0.1:7432/d"',
      'mysql -h 127.0.0.1 -P 7306 -u a -p d',
    ]);
  });
});
