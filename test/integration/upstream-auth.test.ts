// The broker's upstream side against scratch PostgreSQL clusters: SCRAM, md5 and cleartext logins, TLS modes
// (disable, prefer, require, verify-full with the right and a wrong CA), and refusals that reach the client as 08006.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUpstream, type UpstreamOptions } from '../../src/pg/upstream-connection.js';
import { TOKENS, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { freePort, generateCa, startScratchCluster, type ScratchCluster } from '../helpers/scratch-cluster.js';

let scram: ScratchCluster; // scram-sha-256, TLS on
let md5: ScratchCluster; // md5, no TLS
let cleartext: ScratchCluster; // password, no TLS
let b: TestBroker;
let wrongCaDir: string;

type Role = { user: string; password?: string };

function target(c: ScratchCluster, extra: Record<string, unknown> = {}, write: Role = c.roles.rw) {
  return {
    protocol: 'postgres', host: '127.0.0.1', port: c.port, databases: [c.database], tls: 'disable', rulesets: ['safe-defaults'],
    roles: { read: c.roles.ro, write, admin: c.roles.rw },
    ...extra,
  };
}

beforeAll(async () => {
  wrongCaDir = mkdtempSync(join(tmpdir(), 'dbw-wrong-ca-'));
  const [s, m, p, wrongCa, downPort] = await Promise.all([
    startScratchCluster({ auth: 'scram-sha-256', ssl: true }),
    startScratchCluster({ auth: 'md5' }),
    startScratchCluster({ auth: 'password' }),
    generateCa(wrongCaDir, 'wrong'),
    freePort(),
  ]);
  scram = s;
  md5 = m;
  cleartext = p;
  b = await startTestBroker({
    targets: {
      scram: target(scram),
      'scram-wrongpw': target(scram, {}, { user: scram.roles.rw.user, password: 'not-the-password' }),
      md5: target(md5),
      cleartext: target(cleartext),
      'tls-require': target(scram, { tls: 'require' }),
      'tls-verify': target(scram, { tls: 'verify-full', caFile: scram.caFile }),
      'tls-verify-wrongca': target(scram, { tls: 'verify-full', caFile: wrongCa.certFile }),
      'tls-verify-wrongname': target(scram, { tls: 'verify-full', caFile: scram.caFile, serverName: 'db.example.com' }),
      'tls-disable': target(scram, { tls: 'disable' }),
      'nossl-prefer': target(md5, { tls: 'prefer' }),
      'nossl-require': target(cleartext, { tls: 'require' }),
      down: { ...target(scram), port: downPort },
    },
  });
});

afterAll(async () => {
  await b?.close();
  await Promise.all([scram?.close(), md5?.close(), cleartext?.close()]);
  if (wrongCaDir) rmSync(wrongCaDir, { recursive: true, force: true });
});

async function grantFor(targetName: string, access: 'read' | 'write' = 'write'): Promise<{ login: string; password: string }> {
  const res = await fetch(`${b.admin.url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target: targetName, access, ttl: '10m', reason: 'upstream auth test', databases: ['scratch'] }),
  });
  const body = (await res.json()) as { grant?: { login: string; password: string } };
  if (!res.ok || !body.grant) throw new Error(`grant request for ${targetName} failed: ${res.status} ${JSON.stringify(body)}`);
  return body.grant;
}

/** Connects through the broker to a target; the client side is plaintext so only the upstream leg varies. */
async function connectThrough(targetName: string, access: 'read' | 'write' = 'write'): Promise<pg.Client> {
  const g = await grantFor(targetName, access);
  const c = new pg.Client({ host: '127.0.0.1', port: b.pgPort, user: g.login, password: g.password, database: 'scratch', ssl: false });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function connectError(targetName: string, access: 'read' | 'write' = 'write'): Promise<Error & { code?: string; severity?: string }> {
  const err = await connectThrough(targetName, access).then(
    async (c) => {
      await c.end();
      return new Error(`connection to ${targetName} unexpectedly succeeded`);
    },
    (e: Error) => e,
  );
  return err;
}

/** The broker's own reason for an upstream refusal, which the client never sees (it only gets 08006). */
async function directRefusal(c: ScratchCluster, o: Partial<UpstreamOptions>): Promise<string> {
  const opts: UpstreamOptions = { host: '127.0.0.1', port: c.port, user: c.roles.rw.user, password: c.roles.rw.password, database: c.database, tls: 'disable', params: new Map(), ...o };
  return connectUpstream(opts).then(
    (u) => {
      u.socket.destroy();
      return 'connected';
    },
    (e: Error) => e.message,
  );
}

async function upstreamView(c: pg.Client): Promise<{ who: string; ssl: boolean }> {
  const r = await c.query('select current_user as who, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl');
  return r.rows[0];
}

describe('upstream authentication', () => {
  it('logs in upstream with SCRAM-SHA-256', async () => {
    expect((await scram.sql("select auth_method from pg_hba_file_rules where type = 'host'")).trim()).toBe('scram-sha-256');
    const c = await connectThrough('scram');
    expect(await upstreamView(c)).toEqual({ who: scram.roles.rw.user, ssl: false });
    await c.end();
  });

  it('logs in upstream with md5', async () => {
    // the role's stored password must be an md5 hash, or the server would quietly use SCRAM instead
    expect((await md5.sql(`select left(rolpassword, 3) from pg_authid where rolname = '${md5.roles.rw.user}'`)).trim()).toBe('md5');
    expect((await md5.sql("select auth_method from pg_hba_file_rules where type = 'host'")).trim()).toBe('md5');
    const c = await connectThrough('md5');
    expect((await upstreamView(c)).who).toBe(md5.roles.rw.user);
    await c.end();
  });

  it('logs in upstream with a cleartext password', async () => {
    expect((await cleartext.sql("select auth_method from pg_hba_file_rules where type = 'host'")).trim()).toBe('password');
    const c = await connectThrough('cleartext');
    expect((await upstreamView(c)).who).toBe(cleartext.roles.rw.user);
    await c.end();
  });

  it('a wrong upstream password reaches the client as FATAL 08006 and other sessions go on', async () => {
    const before = await connectThrough('scram');
    const err = await connectError('scram-wrongpw');
    expect(err.code).toBe('08006');
    expect(err.severity).toBe('FATAL');
    expect(err.message).toBe('dbwarden: upstream scram-wrongpw unavailable');
    // neither the upstream's own error nor the role name leaks to the client
    expect(err.message).not.toMatch(/password authentication failed|scratch_rw/);
    expect(await directRefusal(scram, { password: 'not-the-password' })).toMatch(/28P01/);
    expect((await before.query('select 1 as n')).rows[0].n).toBe(1);
    const after = await connectThrough('scram');
    expect((await after.query('select 2 as n')).rows[0].n).toBe(2);
    await Promise.all([before.end(), after.end()]);
  });

  it('an upstream with nothing listening gives FATAL 08006', async () => {
    const err = await connectError('down');
    expect(err.code).toBe('08006');
    expect(err.severity).toBe('FATAL');
    expect(err.message).toBe('dbwarden: upstream down unavailable');
  });
});

describe('upstream TLS', () => {
  it('tls: require encrypts the upstream connection', async () => {
    const c = await connectThrough('tls-require');
    expect(await upstreamView(c)).toEqual({ who: scram.roles.rw.user, ssl: true });
    await c.end();
  });

  it('tls: verify-full with the CA that signed the server certificate connects over TLS', async () => {
    const c = await connectThrough('tls-verify');
    expect((await upstreamView(c)).ssl).toBe(true);
    await c.end();
  });

  it('tls: verify-full with a CA that did not sign the server certificate is refused with 08006', async () => {
    const err = await connectError('tls-verify-wrongca');
    expect(err.code).toBe('08006');
    expect(err.message).toBe('dbwarden: upstream tls-verify-wrongca unavailable');
    const reason = await directRefusal(scram, { tls: 'verify-full', caFile: join(wrongCaDir, 'wrong.crt') });
    expect(reason).toMatch(/^TLS to upstream: .*(certificate|verify)/);
  });

  it('tls: verify-full refuses a certificate that does not name the expected server', async () => {
    const err = await connectError('tls-verify-wrongname');
    expect(err.code).toBe('08006');
    expect(err.message).toBe('dbwarden: upstream tls-verify-wrongname unavailable');
    expect(await directRefusal(scram, { tls: 'verify-full', caFile: scram.caFile, serverName: 'db.example.com' })).toMatch(/^TLS to upstream: .*db\.example\.com/);
    expect(await directRefusal(scram, { tls: 'verify-full', caFile: scram.caFile, host: 'localhost' })).toBe('connected');
  });

  it('tls: disable stays in plaintext even when the server offers TLS', async () => {
    const c = await connectThrough('tls-disable');
    expect((await upstreamView(c)).ssl).toBe(false);
    await c.end();
  });

  it('tls: prefer falls back to plaintext against a server without TLS', async () => {
    const c = await connectThrough('nossl-prefer');
    expect((await md5.sql('show ssl')).trim()).toBe('off');
    expect(await upstreamView(c)).toEqual({ who: md5.roles.rw.user, ssl: false });
    await c.end();
  });

  it('tls: require against a server without TLS is refused with 08006', async () => {
    const err = await connectError('nossl-require');
    expect(err.code).toBe('08006');
    expect(err.message).toBe('dbwarden: upstream nossl-require unavailable');
    expect(await directRefusal(cleartext, { tls: 'require' })).toMatch(/does not offer TLS/);
  });
});
