// AuditFile + verifyAuditFile: chain format, every kind of tampering, restarts, secrets, pino mirror, kill -9.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { canonicalLine, sha256Hex } from '../../../src/audit/chain.js';
import type { AuditEvent } from '../../../src/audit/events.js';
import { verifyAuditFile } from '../../../src/audit/verify.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbwarden-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function event(i: number): AuditEvent {
  return {
    type: 'statement',
    session: `s${i % 7}`,
    grant: 'g1',
    identity: 'alice',
    target: 'app',
    database: 'app',
    text: `select * from orders where id = ${i} -- "quoted" \\ ünïcode`,
    kind: 'select',
    action: i % 10 === 0 ? 'warn' : 'allow',
    rules: i % 10 === 0 ? ['select-star'] : [],
    duration_ms: i / 3,
    rows: i,
  };
}

async function write100(path: string): Promise<void> {
  const f = AuditFile.open(path);
  for (let i = 0; i < 100; i++) f.record(event(i));
  await f.close();
}

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

function writeLines(path: string, lines: string[]): void {
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
}

describe('AuditFile', () => {
  it('writes every line of a busy turn whole, in order and chained (more lines than one coalesced write takes)', async () => {
    const path = join(dir, 'audit.jsonl');
    const f = AuditFile.open(path);
    for (let i = 0; i < 1200; i++) f.record(event(i));
    for (let i = 0; i < 300; i++) f.record({ type: 'session.ended', session: `s${i}`, grant: 'g1', identity: 'alice', reason: 'revoked', duration_ms: 1 });
    await new Promise((r) => setImmediate(r));
    const lines = readLines(path);
    expect(lines).toHaveLength(1500);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    await f.close();
    expect(verifyAuditFile(path).ok).toBe(true);
  });

  it('writes 100 chained lines that verify', async () => {
    const path = join(dir, 'nested', 'deeper', 'audit.jsonl');
    await write100(path);
    const lines = readLines(path);
    expect(lines).toHaveLength(100);
    const first = JSON.parse(lines[0]!);
    expect(Object.keys(first).slice(0, 3)).toEqual(['seq', 'ts', 'type']);
    expect(Object.keys(first).slice(-2)).toEqual(['prev', 'hash']);
    expect(first.seq).toBe(1);
    expect(first.prev).toBe('0'.repeat(64));
    expect(new Date(first.ts).toISOString()).toBe(first.ts);
    expect(first.text).toBe(event(0).type === 'statement' ? (event(0) as { text: string }).text : '');
    for (let i = 1; i < lines.length; i++) {
      const [a, b] = [JSON.parse(lines[i - 1]!), JSON.parse(lines[i]!)];
      expect(b.seq).toBe(a.seq + 1);
      expect(b.prev).toBe(a.hash);
      const { hash, ...rest } = b;
      expect(sha256Hex(canonicalLine(rest))).toBe(hash);
    }
    expect(verifyAuditFile(path)).toEqual({ ok: true, count: 100, lastHash: JSON.parse(lines[99]!).hash });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('an empty or missing-then-created file verifies with count 0', async () => {
    const path = join(dir, 'a.jsonl');
    await AuditFile.open(path).close();
    expect(verifyAuditFile(path)).toEqual({ ok: true, count: 0 });
  });

  it('reopening continues seq and prev across restarts', async () => {
    const path = join(dir, 'audit.jsonl');
    await write100(path);
    const f = AuditFile.open(path);
    expect(f.lastSeq).toBe(100);
    const line = f.record({ type: 'admin.rules.reload', actor: 'bob' });
    await f.close();
    expect(line.seq).toBe(101);
    expect(line.prev).toBe(JSON.parse(readLines(path)[99]!).hash);
    const g = AuditFile.open(path);
    g.record({ type: 'grant.revoked', actor: 'bob', grantId: 'g1' });
    await g.close();
    expect(verifyAuditFile(path)).toMatchObject({ ok: true, count: 102 });
  });

  it('drops secret-named fields at any depth and keeps reserved fields out of the caller’s hands', async () => {
    const path = join(dir, 'audit.jsonl');
    const f = AuditFile.open(path);
    f.record({
      type: 'admin.request',
      actor: 'alice',
      password: 'hunter2',
      token: 'tok',
      nested: { secret: 's', Password: 'p', keep: 1, deeper: [{ token: 't', ok: true }] },
      seq: 999,
      hash: 'forged',
      prev: 'forged',
    });
    await f.close();
    const text = readFileSync(path, 'utf8');
    for (const s of ['hunter2', '"tok"', '"s"', '"p"', '"t"', 'forged', '999']) expect(text).not.toContain(s);
    const line = JSON.parse(text);
    expect(line.nested).toEqual({ keep: 1, deeper: [{ ok: true }] });
    expect(line.seq).toBe(1);
    expect(verifyAuditFile(path).ok).toBe(true);
  });

  it('mirrors each line to the pino logger at info, without secrets', async () => {
    const out: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out.push(String(chunk));
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const f = AuditFile.open(join(dir, 'audit.jsonl'), logger);
    f.record({ type: 'auth.failed', protocol: 'postgres', login: 'ghost', client: '10.0.0.1:5000', reason: 'bad password' });
    f.record({ type: 'admin.token', actor: 'x', token: 'SECRET-TOKEN' } as AuditEvent);
    await f.close();
    await new Promise((r) => setImmediate(r));
    expect(out).toHaveLength(2);
    const logged = JSON.parse(out[0]!);
    expect(logged.level).toBe(30);
    expect(logged.msg).toBe('auth.failed');
    expect(logged.audit).toMatchObject({ seq: 1, type: 'auth.failed', login: 'ghost' });
    expect(logged.audit.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(out.join('')).not.toContain('SECRET-TOKEN');
  });

  it('refuses to record after close (an event is never dropped silently)', async () => {
    const f = AuditFile.open(join(dir, 'audit.jsonl'));
    await f.close();
    expect(() => f.record({ type: 'admin.x', actor: 'a' })).toThrow(/closed/);
  });

  it('refuses to continue a file whose last line is not a chain line', () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, '{"hello":1}\n');
    expect(() => AuditFile.open(path)).toThrow(/audit verify/);
  });

  it('truncates a torn tail on open and keeps the chain verifiable', async () => {
    const path = join(dir, 'audit.jsonl');
    await write100(path);
    appendFileSync(path, '{"seq":101,"ts":"2024-');
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 101 });
    const f = AuditFile.open(path);
    expect(f.record({ type: 'admin.x', actor: 'a' }).seq).toBe(101);
    await f.close();
    expect(verifyAuditFile(path)).toMatchObject({ ok: true, count: 101 });
  });

  it('a torn first line (nothing complete) starts a fresh chain', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, '{"seq":1,"t');
    const f = AuditFile.open(path);
    expect(f.record({ type: 'admin.x', actor: 'a' }).seq).toBe(1);
    await f.close();
    expect(verifyAuditFile(path)).toMatchObject({ ok: true, count: 1 });
  });

  it('keeps every acknowledged event when the writer is killed with SIGKILL', async () => {
    const path = join(dir, 'audit.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'record-forever.ts'), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        if (parts.length > 0) acked = Number(parts[parts.length - 1]);
        if (acked >= 2000 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(acked).toBeGreaterThanOrEqual(2000);
    // kill -9 can land inside a write (Linux stops a write between two pages on a fatal signal): the file may then
    // end in a cut-short line. That line was never acknowledged; every line before it must verify.
    const r = verifyAuditFile(path);
    if (!r.ok) {
      expect(r.tornTail).toBe(true);
      expect(r.firstBrokenLine).toBe(r.count);
      expect(r.count - 1).toBeGreaterThanOrEqual(acked);
    } else {
      expect(r.count).toBeGreaterThanOrEqual(acked);
    }
    // the next open drops a cut-short line and continues the chain; every acknowledged event is still there
    const f = AuditFile.open(path);
    const next = f.record({ type: 'admin.x', actor: 'after-crash' });
    await f.close();
    expect(next.seq).toBeGreaterThan(acked);
    const after = verifyAuditFile(path);
    expect(after).toMatchObject({ ok: true, count: next.seq });
  });

  it('verify says when the only broken line is a cut-short last line, and not when a line follows it', async () => {
    const path = join(dir, 'audit.jsonl');
    await write100(path);
    appendFileSync(path, '{"seq":101,"ts":"2024-');
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 101, tornTail: true });
    appendFileSync(path, '\n{"seq":102}\n');
    const r = verifyAuditFile(path);
    expect(r).toMatchObject({ ok: false, firstBrokenLine: 101 });
    expect(r.tornTail).toBeUndefined();
  });
});

describe('verifyAuditFile detects tampering', () => {
  let path: string;
  let lines: string[];
  beforeEach(async () => {
    path = join(dir, 'audit.jsonl');
    await write100(path);
    lines = readLines(path);
  });

  it('an edited field', () => {
    const l = JSON.parse(lines[41]!);
    l.text = 'select 1';
    lines[41] = JSON.stringify(l);
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, count: 100, firstBrokenLine: 42, firstBrokenSeq: 42 });
    expect(verifyAuditFile(path).reason).toMatch(/edited/);
  });

  it('an edited field whose hash was recomputed breaks the next line', () => {
    const l = JSON.parse(lines[40]!);
    expect(l.action).toBe('warn');
    l.action = 'allow';
    l.rules = [];
    const { hash: _old, ...rest } = l;
    l.hash = sha256Hex(canonicalLine(rest));
    lines[40] = JSON.stringify(l);
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 42, firstBrokenSeq: 42 });
    expect(verifyAuditFile(path).reason).toMatch(/prev/);
  });

  it('reordered keys inside a line are not tampering (content is hashed, not bytes)', () => {
    const l = JSON.parse(lines[10]!);
    const reordered = Object.fromEntries(Object.entries(l).reverse());
    lines[10] = JSON.stringify(reordered);
    writeLines(path, lines);
    expect(verifyAuditFile(path).ok).toBe(true);
  });

  it('a deleted line', () => {
    lines.splice(60, 1);
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, count: 99, firstBrokenLine: 61, firstBrokenSeq: 62 });
  });

  it('a deleted first line', () => {
    lines.shift();
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 1, firstBrokenSeq: 2 });
  });

  it('an inserted line (a copy of another)', () => {
    lines.splice(30, 0, lines[5]!);
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, count: 101, firstBrokenLine: 31, firstBrokenSeq: 6 });
  });

  it('an inserted forged line with a valid hash', () => {
    const forged: Record<string, unknown> = { seq: 31, ts: new Date().toISOString(), type: 'admin.forged', actor: 'mallory', prev: JSON.parse(lines[29]!).hash };
    forged.hash = sha256Hex(canonicalLine(forged));
    lines.splice(30, 0, JSON.stringify(forged));
    writeLines(path, lines);
    // the forged line itself is consistent; the original line 31 after it is not
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 32, firstBrokenSeq: 31 });
  });

  it('two swapped lines', () => {
    [lines[70], lines[71]] = [lines[71]!, lines[70]!];
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, count: 100, firstBrokenLine: 71, firstBrokenSeq: 72 });
  });

  it('garbage and blank lines', () => {
    lines[20] = 'not json';
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 21, firstBrokenSeq: 21, reason: 'line is not JSON' });
    lines[20] = '';
    writeLines(path, lines);
    expect(verifyAuditFile(path)).toMatchObject({ ok: false, firstBrokenLine: 21, reason: 'empty line' });
  });

  it('a missing file throws', () => {
    expect(() => verifyAuditFile(join(dir, 'nope.jsonl'))).toThrow(/ENOENT/);
  });
});

describe('whenWritten: one write per turn for every session', () => {
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

  it('holds each waiter until the lines recorded before it are in the file, and writes the turn once', async () => {
    const path = join(dir, 'audit.jsonl');
    const f = AuditFile.open(path);
    const seen: number[] = [];
    // three sessions complete a statement in one turn: their answers wait, nothing is written yet
    for (let i = 1; i <= 3; i++) {
      f.record(event(i));
      f.whenWritten(() => seen.push(lines(path)));
    }
    expect(seen).toEqual([]);
    expect(statSync(path).size).toBe(0);
    await new Promise((r) => setImmediate(r));
    // each waiter ran after all three lines were written (one batched write at the end of the turn)
    expect(seen).toEqual([3, 3, 3]);
    await f.close();
    expect(verifyAuditFile(path).ok).toBe(true);
  });

  it('runs a waiter at once when no batched write is due, after writing what is pending', async () => {
    const path = join(dir, 'audit.jsonl');
    const f = AuditFile.open(path);
    f.record({ type: 'admin.x', actor: 'a' });
    let ran = -1;
    f.whenWritten(() => (ran = lines(path)));
    expect(ran).toBe(1);
    await f.close();
  });

  it('releases the waiters when the file closes', async () => {
    const path = join(dir, 'audit.jsonl');
    const f = AuditFile.open(path);
    f.record(event(1));
    let released = 0;
    f.whenWritten(() => released++);
    await f.close();
    expect(released).toBe(1);
    expect(lines(path)).toBe(1);
  });
});
