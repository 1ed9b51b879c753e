// `dbwarden audit tail [FILE] [--follow] [--grant G] [--identity I] [--type T]`: the audit trail as one readable line per event, offline.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { CliError } from '../cli-error.js';
import { stringOpt, type Command } from '../command.js';
import { auditFileOf } from './audit.js';

export interface AuditTailFilter {
  grant?: string;
  identity?: string;
  /** "statement", "grant" (= grant.*), "grant.*", "grant.revoked"; several separated by commas */
  type?: string;
}

export interface AuditTailOptions {
  filter: AuditTailFilter;
  follow: boolean;
  color: boolean;
  /** print each event's JSON line unchanged instead of the readable line */
  raw?: boolean;
  write(text: string): void;
  /** ends --follow */
  signal?: AbortSignal;
  pollMs?: number;
}

const TEXT_WIDTH = 120;
const SHOWN_ELSEWHERE = new Set(['seq', 'ts', 'type', 'prev', 'hash', 'identity', 'actor', 'login', 'target', 'database', 'action', 'rules', 'text', 'kind']);

const SGR = { red: '31', green: '32', yellow: '33', magenta: '35', cyan: '36', dim: '2', bold: '1' } as const;
type Colour = keyof typeof SGR;

const ACTION_COLOUR: Record<string, Colour> = { block: 'red', review: 'yellow', warn: 'yellow', mask: 'magenta', allow: 'green', refused: 'red' };

function typeMatches(type: string, wanted: string): boolean {
  return wanted.split(',').map((t) => t.trim()).filter(Boolean).some((t) => {
    const base = t.endsWith('.*') ? t.slice(0, -2) : t;
    return type === base || type.startsWith(`${base}.`);
  });
}

export function matchesFilter(line: Record<string, unknown>, f: AuditTailFilter): boolean {
  if (f.type && !typeMatches(String(line.type ?? ''), f.type)) return false;
  if (f.grant && line.grant !== f.grant && line.grantId !== f.grant) return false;
  if (f.identity && line.identity !== f.identity && line.actor !== f.identity) return false;
  return true;
}

/** One line, control characters (including newlines of multi-line SQL) as spaces, cut to `width` with an ellipsis. */
function shorten(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** The readable form of one audit line: time, type, who, where, action, rules, then statement text or the other fields. */
export function formatAuditLine(line: Record<string, unknown>, color: boolean): string {
  const paint = (c: Colour, s: string) => (color && s ? `\u001b[${SGR[c]}m${s}\u001b[0m` : s);
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
  const ts = str(line.ts).replace('T', ' ');
  const type = str(line.type);
  const who = str(line.identity ?? line.actor ?? line.login) || '-';
  const where = str(line.target) + (line.database ? `/${str(line.database)}` : '') || '-';
  const action = str(line.action ?? line.access ?? (line.ok === false ? 'refused' : ''));
  const rules = Array.isArray(line.rules) && line.rules.length > 0 ? `[${line.rules.join(',')}]` : '';
  const rest =
    type === 'statement'
      ? shorten(str(line.text), TEXT_WIDTH)
      : shorten(Object.entries(line).filter(([k, v]) => !SHOWN_ELSEWHERE.has(k) && v !== undefined && v !== null).map(([k, v]) => `${k}=${scalar(v)}`).join(' '), TEXT_WIDTH);
  // who acted, when that is someone else than whom the event is about (bob revoking alice's grant)
  const by = line.identity && line.actor && line.actor !== line.identity ? `by=${str(line.actor)}` : '';
  const parts = [
    paint('dim', ts),
    paint('cyan', type.padEnd(18)),
    who.padEnd(12),
    where.padEnd(16),
    action ? paint(ACTION_COLOUR[action] ?? 'bold', action.padEnd(6)) : ''.padEnd(6),
    rules ? paint('yellow', rules) : '',
    by,
    rest,
  ];
  return parts.filter((p, i) => i < 5 || p !== '').join(' ').trimEnd();
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Prints the events of `path` that match the filter; with `follow`, keeps polling for new lines until the signal
 * aborts, reopening the file when it is rotated (new inode) or truncated. Returns the number of events printed.
 */
export async function tailAuditFile(path: string, o: AuditTailOptions): Promise<number> {
  let printed = 0;
  const emit = (text: string) => {
    if (text.trim() === '') return;
    let line: Record<string, unknown>;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      line = parsed as Record<string, unknown>;
    } catch {
      // a damaged line is shown, not skipped: hiding it would hide tampering (audit verify tells what is wrong)
      if (!o.filter.grant && !o.filter.identity && !o.filter.type) o.write(`?? unreadable line: ${shorten(text, TEXT_WIDTH)}\n`);
      return;
    }
    if (!matchesFilter(line, o.filter)) return;
    o.write(o.raw ? `${text}\n` : `${formatAuditLine(line, o.color)}\n`);
    printed++;
  };

  const pollMs = o.pollMs ?? 250;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!o.follow) throw new CliError(`audit file ${path} not found`);
      if (o.signal?.aborted) return printed;
      await sleep(pollMs, o.signal);
    }
  }
  const buf = Buffer.alloc(256 * 1024);
  let pos = 0;
  let rest = Buffer.alloc(0);
  let ino = fstatSync(fd).ino;
  let draining = false;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n > 0) {
        pos += n;
        let data = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) >= 0) {
          emit(data.subarray(0, nl).toString('utf8'));
          data = data.subarray(nl + 1);
        }
        rest = Buffer.from(data);
        continue;
      }
      if (!o.follow || o.signal?.aborted) break;
      let current: { ino: number; size: number } | undefined;
      try {
        current = statSync(path);
      } catch {
        current = undefined; // between the rename and the new file of a rotation
      }
      if (current && current.ino !== ino && !draining) {
        // rotated: read the old file once more, for lines written between our last read and its rename
        draining = true;
        continue;
      }
      if (current && (draining || current.size < pos)) {
        // rotated (old file drained) or truncated: start at the top of the current file
        draining = false;
        closeSync(fd);
        fd = openSync(path, 'r');
        ino = fstatSync(fd).ino;
        pos = 0;
        rest = Buffer.alloc(0);
        continue;
      }
      await sleep(pollMs, o.signal);
    }
    if (rest.length > 0) emit(rest.toString('utf8'));
  } finally {
    closeSync(fd);
  }
  return printed;
}

export const auditTailCommand: Command = {
  name: 'audit tail',
  arity: [0, 1],
  options: {
    follow: { type: 'boolean', short: 'f' },
    grant: { type: 'string' },
    identity: { type: 'string' },
    type: { type: 'string' },
    config: { type: 'string' },
  },
  async run(ctx) {
    const file = await auditFileOf(ctx.args[0], stringOpt(ctx, 'config'));
    const color = ctx.io.stdout.isTTY === true && !ctx.io.env.NO_COLOR && !ctx.json;
    await tailAuditFile(file, {
      filter: { grant: stringOpt(ctx, 'grant'), identity: stringOpt(ctx, 'identity'), type: stringOpt(ctx, 'type') },
      follow: ctx.values.follow === true,
      color,
      raw: ctx.json,
      write: (t) => ctx.out(t),
    });
    return 0;
  },
};
