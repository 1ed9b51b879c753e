// FunctionCall (the fast-path 'F' message) goes through the policy as dynamic code: psql's \lo_import uses it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const run = promisify(execFile);
let b: TestBroker;
let dir: string;

beforeAll(async () => {
  b = await startTestBroker();
  dir = mkdtempSync(join(tmpdir(), 'dbw-fc-'));
});
afterAll(async () => {
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('FunctionCall messages', () => {
  it('are refused as dynamic code (psql \\lo_import) and the session continues', async () => {
    const g = await b.grant({ access: 'write' });
    const file = join(dir, 'blob.txt');
    writeFileSync(file, 'large object payload');
    const before = (await adminSql('select count(*)::int as n from pg_largeobject_metadata')) as { rows: { n: number }[] };
    const r = await run('psql', [b.url(g), '-X', '-v', 'ON_ERROR_STOP=0', '-c', `\\lo_import ${file}`, '-c', 'select 7 as after'], { env: { ...process.env } }).catch((e) => e);
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).toMatch(/dbwarden: blocked by rule dynamic-sql/);
    expect(out).toMatch(/\b7\b/);
    const after = (await adminSql('select count(*)::int as n from pg_largeobject_metadata')) as { rows: { n: number }[] };
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});
