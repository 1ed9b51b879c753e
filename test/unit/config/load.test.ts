// Tests for loading dbwarden.yaml: example validity, defaults, ${ENV}, file:line errors and path resolution.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { BrokerError } from '../../../src/errors.js';

const HASH = 'a'.repeat(64);
const EXAMPLE_ENV = {
  APP_RO_PASSWORD: 'ro-secret',
  APP_RW_PASSWORD: 'rw-secret',
  APP_ADMIN_PASSWORD: 'admin-secret',
  ALICE_TOKEN_SHA256: HASH,
  BOB_TOKEN_SHA256: 'b'.repeat(64),
  CI_TOKEN_SHA256: 'c'.repeat(64),
  SHOP_RO_PASSWORD: 'shop-secret',
};

/** Runs parseConfig and returns the BrokerError it throws (fails the test if it does not throw). */
function configError(text: string, env: NodeJS.ProcessEnv = {}): BrokerError {
  try {
    parseConfig(text, 'dbwarden.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(BrokerError);
    expect((e as BrokerError).code).toBe('BRK_CONFIG_INVALID');
    return e as BrokerError;
  }
  throw new Error('expected parseConfig to throw');
}

const MINIMAL = `
targets:
  app:
    protocol: postgres
    host: 127.0.0.1
    databases: [app]
    roles:
      read: { user: app_ro }
identities:
  alice: { tokenSha256: "${HASH}" }
access:
  - name: read
    requesters: ["*"]
    access: [read]
    maxTtl: 8h
    approvals: 0
`;

const tempDirs: string[] = [];

describe('state.redis', () => {
  it('is read once into the connection the Redis store takes', () => {
    const c = parseConfig(`${MINIMAL}state:\n  store: redis\n  redis: redis+sentinel://:pw@s1,s2:26380/main/2\n`, 'dbwarden.yaml', {});
    expect(c.state.redis).toEqual({ mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'main', db: 2, password: 'pw' });
  });

  it('a setting the store could not use is a configuration error', () => {
    expect(configError(`${MINIMAL}state:\n  store: redis\n  redis: { sentinels: ["a b"], name: m }\n`).message).toMatch(/state\.redis/);
  });
});
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

describe('dbwarden.example.yaml', () => {
  it('is valid with its environment variables set', () => {
    const c = loadConfig(resolve('dbwarden.example.yaml'), EXAMPLE_ENV);
    expect(c.listen).toEqual({ postgres: '127.0.0.1:7432', mysql: '127.0.0.1:7306', admin: '127.0.0.1:7080' });
    expect(c.targets.app!.roles.write).toEqual({ user: 'app_rw', password: 'rw-secret' });
    expect(c.targets.app!.rulesets).toEqual(['safe-defaults', 'pii-masking']);
    expect(c.identities.bob).toEqual({ tokenSha256: 'b'.repeat(64), groups: ['dba'] });
    expect(c.access.map((p) => p.name)).toEqual(['read-self-service', 'write-needs-dba', 'break-glass']);
    expect(c.access[2]!.alert).toBe(true);
    expect(c.notify?.webhooks[0]!.events).toContain('grant.activated');
    expect(c.state.dir).toBe(resolve('.dbwarden'));
    expect(c.rules).toBe(resolve('rules'));
  });

  it('names every missing variable with its line and key', () => {
    const err = (() => {
      try {
        loadConfig(resolve('dbwarden.example.yaml'), { ...EXAMPLE_ENV, APP_RW_PASSWORD: undefined, BOB_TOKEN_SHA256: undefined });
      } catch (e) {
        return e as BrokerError;
      }
      throw new Error('expected an error');
    })();
    expect(err.code).toBe('BRK_CONFIG_INVALID');
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^dbwarden\.example\.yaml:\d+: targets\.app\.roles\.write\.password: environment variable APP_RW_PASSWORD is not set$/);
    expect(lines[1]).toMatch(/^dbwarden\.example\.yaml:\d+: identities\.bob\.tokenSha256: environment variable BOB_TOKEN_SHA256 is not set$/);
    expect(err.message).not.toContain('secret');
  });
});

describe('parseConfig', () => {
  it('applies defaults', () => {
    const c = parseConfig(MINIMAL, join(tmpdir(), 'x', 'dbwarden.yaml'), {});
    expect(c.listen).toEqual({ admin: '127.0.0.1:7080' });
    expect(c.tls.clients).toBe('prefer');
    expect(c.state).toEqual({ dir: join(tmpdir(), 'x', '.dbwarden'), store: 'embedded' });
    expect(c.audit).toEqual({ file: join(tmpdir(), 'x', '.dbwarden', 'audit.jsonl'), statementText: 'full', maxBytes: 64 << 20, keep: 10, maxStatementBytes: 1 << 20 });
    expect(c.rules).toBe(join(tmpdir(), 'x', 'rules'));
    expect(c.targets.app).toMatchObject({ port: 5432, tls: 'prefer', rulesets: ['safe-defaults'] });
    expect(c.identities.alice!.groups).toEqual([]);
    expect(c.access[0]).toMatchObject({ targets: ['*'], approvers: [], alert: false });
    expect(c.log.level).toBe('info');
    expect(c.limits).toEqual({
      maxQueryBytes: 16 * 1024 * 1024, statementCacheSize: 10_000, statementCacheBytes: 32 << 20, authFailureDelayMs: 250,
      partialMessageTimeoutMs: 30_000, partialBytesPerGrant: 64 << 20, partialBytesTotal: 256 << 20, maxSessionsPerGrant: 20,
    });
    expect(c.broker).toEqual({});
  });

  it('treats an empty file as all defaults', () => {
    const c = parseConfig('', 'dbwarden.yaml', {});
    expect(c.targets).toEqual({});
    expect(c.access).toEqual([]);
  });

  it('defaults the mysql port', () => {
    const c = parseConfig(MINIMAL.replace('protocol: postgres', 'protocol: mysql'), 'dbwarden.yaml', {});
    expect(c.targets.app!.port).toBe(3306);
  });

  it('takes upstreamSpares on a postgres target and refuses it on a mysql target, naming the line and key', () => {
    const spares = MINIMAL.replace('    databases: [app]', '    databases: [app]\n    upstreamSpares: 2\n    upstreamSpareIdle: 30s');
    const c = parseConfig(spares, 'dbwarden.yaml', {});
    expect(c.targets.app!.upstreamSpares).toBe(2);
    expect(c.targets.app!.upstreamSpareIdleMs).toBe(30_000);
    expect(parseConfig(MINIMAL, 'dbwarden.yaml', {}).targets.app!.upstreamSpares).toBe(0);
    expect(configError(spares.replace('protocol: postgres', 'protocol: mysql')).message).toBe(
      'dbwarden.yaml:7: targets.app.upstreamSpares: spare upstream connections are supported for postgres targets only',
    );
    expect(configError(spares.replace('upstreamSpares: 2', 'upstreamSpares: -1')).message).toMatch(/^dbwarden\.yaml:7: targets\.app\.upstreamSpares: /);
  });

  it('reports an enum problem as file:line: key.path: problem', () => {
    const text = MINIMAL.replace('    databases: [app]', '    databases: [app]\n    tls: sometimes');
    expect(configError(text).message).toBe('dbwarden.yaml:7: targets.app.tls: expected one of disable|prefer|require|verify-full');
  });

  it('reports unknown keys at their own line, at any depth', () => {
    const text = MINIMAL.replace('    host: 127.0.0.1', '    host: 127.0.0.1\n    hots: x') + 'lisen:\n  admin: 1.2.3.4:5\n';
    const err = configError(text);
    expect(err.message).toBe(['dbwarden.yaml:6: targets.app.hots: unknown key', 'dbwarden.yaml:18: lisen: unknown key'].join('\n'));
    const issues = err.detail.issues as { line: number; path: string }[];
    expect(issues.map((i) => i.path)).toEqual(['targets.app.hots', 'lisen']);
  });

  it('collects every issue, one per line, sorted by line', () => {
    const text = `
listen:
  postgres: "nowhere"
targets:
  app:
    protocol: oracle
    host: ""
    port: 99999
    databases: []
identities:
  alice: { tokenSha256: "xyz" }
access:
  - name: p
    requesters: ["*"]
    access: [read, delete]
    maxTtl: forever
    approvals: -1
`;
    const lines = configError(text).message.split('\n');
    expect(lines).toEqual([
      'dbwarden.yaml:3: listen.postgres: expected host:port',
      'dbwarden.yaml:6: targets.app.protocol: expected one of postgres|mysql',
      'dbwarden.yaml:7: targets.app.host: must not be empty',
      'dbwarden.yaml:8: targets.app.port: must be at most 65535',
      'dbwarden.yaml:9: targets.app.databases: expected at least 1 item',
      'dbwarden.yaml:11: identities.alice.tokenSha256: expected 64 hex characters (the sha256 of the token)',
      'dbwarden.yaml:15: access[0].access[1]: expected one of read|write|admin',
      expect.stringMatching(/^dbwarden\.yaml:16: access\[0\]\.maxTtl: invalid duration "forever"/),
      'dbwarden.yaml:17: access[0].approvals: must be at least 0',
    ]);
  });

  it('reports missing required keys at their parent', () => {
    const text = MINIMAL.replace('    host: 127.0.0.1\n', '');
    expect(configError(text).message).toBe('dbwarden.yaml:3: targets.app.host: required');
  });

  it('reports wrong types with what was found', () => {
    const text = MINIMAL.replace('approvals: 0', 'approvals: "none"');
    expect(configError(text).message).toBe('dbwarden.yaml:16: access[0].approvals: expected number, got string "none"');
  });

  it('reports YAML syntax errors with their line', () => {
    const err = configError('listen:\n  admin: 127.0.0.1:7080\n  admin: 127.0.0.1:7081\n');
    expect(err.message).toMatch(/^dbwarden\.yaml:3: .*unique/i);
    expect(configError('targets: [unclosed\n').message).toMatch(/^dbwarden\.yaml:\d+: /);
  });

  it('substitutes ${ENV} inside strings; integer fields read digit strings', () => {
    // replacer functions: a replacement string would read "$$" as "$"
    const text = MINIMAL.replace('host: 127.0.0.1', () => 'host: "db-${REGION}.internal"\n    port: ${DB_PORT}').replace(
      '{ user: app_ro }',
      () => '{ user: app_ro, password: "p$${literal}${PW}" }',
    );
    const c = parseConfig(text, 'dbwarden.yaml', { REGION: 'eu', DB_PORT: '6543', PW: 'x' });
    expect(c.targets.app!.host).toBe('db-eu.internal');
    expect(c.targets.app!.port).toBe(6543);
    expect(c.targets.app!.roles.read!.password).toBe('p${literal}x');
  });

  it('keeps a numeric value from the environment a string where a string is expected', () => {
    // unquoted references only work in block style: in a flow mapping "{" would open a nested one
    const text = MINIMAL.replace('read: { user: app_ro }', 'read:\n        user: ${RO_USER}\n        password: ${RO_PW}');
    const c = parseConfig(text, 'dbwarden.yaml', { RO_USER: '123', RO_PW: '000123' });
    expect(c.targets.app!.roles.read).toEqual({ user: '123', password: '000123' });
  });

  it('does not echo values written under secret keys', () => {
    const text = MINIMAL.replace('{ user: app_ro }', '{ user: app_ro, password: 987654321 }');
    expect(configError(text).message).toBe('dbwarden.yaml:8: targets.app.roles.read.password: expected string, got number');
  });

  it('rejects names that exist on every object', () => {
    const text = MINIMAL.replace('requesters: ["*"]', 'requesters: [constructor]\n    targets: [toString]');
    expect(configError(text).message.split('\n')).toEqual([
      'dbwarden.yaml:13: access[0].requesters[0]: unknown identity "constructor" (not under identities)',
      'dbwarden.yaml:14: access[0].targets[0]: unknown target "toString"',
    ]);
  });

  it('checks that policies only grant levels their targets have roles for', () => {
    const text = MINIMAL.replace('access: [read]', 'access: [read, write]').replace('name: read', 'name: rw\n    targets: [app]');
    expect(configError(text).message).toBe('dbwarden.yaml:15: access[0].access[1]: target "app" has no roles.write entry');
    const wild = MINIMAL.replace('access: [read]', 'access: [admin]');
    expect(configError(wild).message).toBe('dbwarden.yaml:14: access[0].access[0]: no target has a roles.admin entry, so "admin" can never be granted');
  });

  it('checks cross-field rules with clear messages', () => {
    const text = `${MINIMAL}  - name: read
    requesters: [carol, "group:dev"]
    targets: [ghost]
    access: [read]
    maxTtl: 1h
    approvals: 1
state:
  store: redis
tls:
  certFile: ./a.crt
listen:
  postgres: 127.0.0.1:7000
  mysql: 127.0.0.1:7000
`;
    const lines = configError(text).message.split('\n');
    expect(lines).toEqual([
      'dbwarden.yaml:17: access[1].name: duplicate policy name "read"',
      // a missing key is reported where its parent starts
      'dbwarden.yaml:17: access[1].approvers: required when approvals is 1 (who may approve?)',
      'dbwarden.yaml:18: access[1].requesters[0]: unknown identity "carol" (not under identities)',
      'dbwarden.yaml:19: access[1].targets[0]: unknown target "ghost"',
      'dbwarden.yaml:23: state.redis: required when state.store is redis',
      'dbwarden.yaml:25: tls.keyFile: certFile and keyFile go together',
      'dbwarden.yaml:29: listen.mysql: same address as listen.postgres',
    ]);
  });

  it('needs enough identities to reach the approval count', () => {
    const text = `${MINIMAL}  - name: two-dbas
    requesters: [alice]
    access: [read]
    maxTtl: 1h
    approvals: 2
    approvers: ["group:dba"]
`;
    expect(configError(text).message).toBe('dbwarden.yaml:21: access[1].approvals: needs 2 distinct approvers but only 0 configured identities match approvers');
  });

  it('rejects target names that cannot be labels or logins', () => {
    const text = MINIMAL.replace('  app:', '  "my app":').replace('databases: [app]', 'databases: [app]');
    expect(configError(text).message).toMatch(/^dbwarden\.yaml:3: targets\.my app: target name must use letters/);
  });
});

describe('loadConfig', () => {
  it('resolves relative paths against the config file folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbwarden-config-'));
    tempDirs.push(dir);
    const file = join(dir, 'dbwarden.yaml');
    writeFileSync(
      file,
      `${MINIMAL.replace('    databases: [app]', '    databases: [app]\n    tls: verify-full\n    caFile: certs/ca.pem')}
tls: { certFile: ./certs/b.crt, keyFile: /etc/b.key }
state: { dir: var/state }
audit: { file: ../audit/trail.jsonl }
rules: my-rules
`,
    );
    const c = loadConfig(file, {});
    expect(c.state.dir).toBe(join(dir, 'var', 'state'));
    expect(c.audit.file).toBe(resolve(dir, '..', 'audit', 'trail.jsonl'));
    expect(c.rules).toBe(join(dir, 'my-rules'));
    expect(c.tls.certFile).toBe(join(dir, 'certs', 'b.crt'));
    expect(c.tls.keyFile).toBe('/etc/b.key');
    expect(c.targets.app!.caFile).toBe(join(dir, 'certs', 'ca.pem'));
  });

  it('defaults the audit file into the resolved state dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbwarden-config-'));
    tempDirs.push(dir);
    const file = join(dir, 'dbwarden.yaml');
    writeFileSync(file, 'state: { dir: st }\n');
    expect(loadConfig(file, {}).audit.file).toBe(join(dir, 'st', 'audit.jsonl'));
  });

  it('reports a missing file as a config error', () => {
    expect(() => loadConfig(join(tmpdir(), 'no-such-dir-dbwarden', 'dbwarden.yaml'), {})).toThrow(/cannot read config: file not found/);
  });
});
