// Summarises `perf script` output of a broker recorded with `perf record -g` while it ran with --perf-basic-prof
// (bench/perf-cells.sh does both): where the process's CPU went, as markdown for bench/RESULTS.md.
// Usage: npx tsx bench/perf-summary.ts PERF_DATA [TITLE] [TOP] [BENCH_LOG ARM]
// PERF_SUMMARY_ROW=1: one markdown row instead (cell, CPU µs/tx, then io | audit | protocol | core | sql | gc | jit |
// other in µs/tx: io = socket I/O, epoll and Node's event loop outside dbwarden's frames, what a bare relay pays too;
// audit = the statement line, its hash and the audit file's write; protocol = pg/, mysql/, wire/; core = session/,
// grants/ and the rest of dbwarden's code; sql = the shape scanners and parsers; gc and jit = V8's collector and
// optimising compiler on any thread).
// With the bench's output and the arm (dbwarden or relay), each share is also given in µs per transaction (or per
// query for sysbench): the share times the arm's CPU µs/tx that the bench measured in the same run.
// - "where": each sample goes to the innermost frame of dbwarden's own code (dist/<dir>/<file>.js) on its stack, or,
//   with none, to the kernel (socket and epoll work Node does between callbacks), Node/V8 on the event loop
//   (stream machinery, GC, callbacks), or another thread (the optimising compiler, GC helpers, libuv workers);
// - "kind": what the leaf frame is (kernel, C++ of node/libc, V8 builtins, JavaScript by tier, GC);
// - the top functions by self time and dbwarden's functions by inclusive time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Frame {
  sym: string;
  dso: string;
}
interface Sample {
  thread: string;
  mainThread: boolean;
  frames: Frame[];
}

const [dataFile, title = 'profile', topArg, benchLog, arm] = process.argv.slice(2);
if (!dataFile) {
  process.stderr.write('usage: npx tsx bench/perf-summary.ts PERF_DATA [TITLE] [TOP]\n');
  process.exit(2);
}
const TOP = Number(topArg ?? 12);

/** The arm's median CPU µs per transaction (pgbench) or per query (sysbench) from the bench's text table. */
function cpuPerTx(log: string, arm: string): number | undefined {
  const lines = readFileSync(log, 'utf8').split('\n');
  const head = lines.findIndex((l) => new RegExp(`${arm} CPU µs/(tx|query)`).test(l));
  if (head < 0) return undefined;
  const cols = (l: string) => l.trim().split(/\s{2,}/);
  const at = cols(lines[head]!).findIndex((c) => new RegExp(`^${arm} CPU µs/`).test(c));
  const row = lines.slice(head + 1).find((l) => l.trim() && !/^-+/.test(l.trim()));
  const v = row ? Number(cols(row)[at]?.replace(/,/g, '')) : NaN;
  return Number.isFinite(v) ? v : undefined;
}
const perTx = benchLog && arm ? cpuPerTx(benchLog, arm) : undefined;

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  let cur: Sample | undefined;
  for (const line of text.split('\n')) {
    if (line === '') {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    if (!line.startsWith('\t') && !line.startsWith(' ')) {
      // "comm pid/tid" (perf script -F comm,pid,tid,…); the event loop is the thread whose tid is the pid
      const m = /^(.+?)\s+(\d+)\/(\d+)\s*$/.exec(line);
      cur = { thread: (m?.[1] ?? 'unknown').trim(), mainThread: m?.[2] === m?.[3], frames: [] };
      continue;
    }
    const m = /^\s+[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
    if (cur && m) cur.frames.push({ sym: m[1]!.replace(/\+0x[0-9a-f]+$/, ''), dso: m[2]! });
  }
  if (cur) out.push(cur);
  return out;
}

const DIST = /file:\/\/\/.*?\/dist\/([\w/.-]+)\.js:(\d+)/;
/** `JS:*name file:///…/dist/pg/relay.js:287:20` → `pg/relay.js name` */
function distName(f: Frame): string | undefined {
  const m = DIST.exec(f.sym);
  if (!m) return undefined;
  const name = /^JS:[*~^+]?(\S*)/.exec(f.sym)?.[1] || '(anonymous)';
  return `${m[1]}.js ${name}`;
}

function leafKind(s: Sample): string {
  const f = s.frames[0];
  if (!f) return 'unknown';
  if (f.dso.includes('kernel')) return 'kernel';
  if (/Heap|Scaveng|MarkCompact|Sweeper|GCTracer|Marking|Evacuat/.test(f.sym)) return 'GC';
  if (f.sym.startsWith('JS:*')) return 'JavaScript, optimised (TurboFan)';
  if (f.sym.startsWith('JS:+')) return 'JavaScript, Maglev';
  if (f.sym.startsWith('JS:^')) return 'JavaScript, baseline (Sparkplug)';
  if (f.sym.startsWith('JS:~')) return 'JavaScript, interpreted';
  if (f.sym.startsWith('Builtins_')) return 'V8 builtins';
  if (f.dso.includes('libc')) return 'libc';
  return 'node/V8 C++';
}

// Node's socket machinery (streams, libuv, the syscalls) and the file write: what a bare relay pays too, apart from
// the audit file's write.
const SOCKET_IO = /node:net|node:internal\/streams|stream_base_commons|LibuvStreamWrap|StreamBase|uv__read|uv__write|uv_try_write/;
const FILE_WRITE = /node:fs|writeSync|node::fs::|uv_fs_write|FSReqBase/;

function where(s: Sample): string {
  let io = false;
  let file = false;
  for (const f of s.frames) {
    const d = distName(f);
    if (d) {
      const dir = d.split(' ')[0]!.replace(/\/[^/]+$/, '/');
      if (file) return `audit file write (fs.writeSync and the kernel), from dbwarden ${dir}`;
      if (io) return 'socket I/O (Node streams, libuv, kernel), called from dbwarden code';
      return `dbwarden ${dir}`;
    }
    if (SOCKET_IO.test(f.sym)) io = true;
    if (FILE_WRITE.test(f.sym)) file = true;
  }
  if (s.mainThread && io) return 'socket I/O (Node streams, libuv, kernel), before any dbwarden frame';
  if (!s.mainThread) return `thread ${s.thread} (${/compiler|Turbofan|Maglev/i.test(s.frames.map((f) => f.sym).join(' ')) ? 'JIT compile' : /Heap|Scaveng|Mark|Sweep/i.test(s.frames.map((f) => f.sym).join(' ')) ? 'GC' : 'other'})`;
  const syms = s.frames.map((f) => f.sym).join(' ');
  if (s.frames[0]?.dso.includes('kernel')) return /epoll/.test(syms) ? 'event loop: epoll (kernel)' : 'event loop: kernel, no dbwarden frame (socket reads and writes by Node)';
  if (/Heap|Scaveng|MarkCompact/.test(syms)) return 'event loop: GC';
  if (/epoll_pwait/.test(syms)) return 'event loop: epoll';
  return 'event loop: Node/V8, no dbwarden frame (streams, callbacks, microtasks)';
}

function table(title: string, rows: Array<[string, number]>, total: number, n: number): string {
  const top = rows.sort((a, b) => b[1] - a[1]).slice(0, n);
  const us = (v: number) => (perTx === undefined ? '' : ` ${((perTx * v) / total).toFixed(1)} |`);
  return `| ${title} | % of samples |${perTx === undefined ? '' : ' ≈ µs/tx |'}\n| --- | ---: |${perTx === undefined ? '' : ' ---: |'}\n${top
    .map(([k, v]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${((100 * v) / total).toFixed(1)} |${us(v)}`)
    .join('\n')}\n`;
}

function count<T>(items: T[], key: (t: T) => string | string[] | undefined): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const it of items) {
    const k = key(it);
    for (const one of Array.isArray(k) ? k : k === undefined ? [] : [k]) m.set(one, (m.get(one) ?? 0) + 1);
  }
  return [...m.entries()];
}

const text = execFileSync('perf', ['script', '-F', 'comm,pid,tid,ip,sym,dso', '-i', dataFile], { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const samples = parse(text);
if (!samples.length) {
  process.stderr.write(`perf-summary: no samples in ${dataFile}\n`);
  process.exit(2);
}
const n = samples.length;
const fileOf = (s: Sample) => {
  for (const f of s.frames) {
    const d = distName(f);
    if (d) return d.split(' ')[0];
  }
  return undefined;
};
/** The coarse groups of the one-line summary (--row): what a bare relay also pays, and each part of dbwarden's own. */
function group(w: string): string {
  if (w.startsWith('audit file write') || w === 'dbwarden audit/') return 'audit';
  if (/^dbwarden (pg|mysql|wire)\//.test(w)) return 'protocol';
  if (w === 'dbwarden sql/') return 'sql';
  if (w.startsWith('dbwarden ')) return 'core';
  if (/GC/.test(w)) return 'gc';
  if (/JIT/.test(w)) return 'jit';
  if (w.startsWith('socket I/O') || w.startsWith('event loop')) return 'io';
  return 'other';
}
const GROUPS = ['io', 'audit', 'protocol', 'core', 'sql', 'gc', 'jit', 'other'];

if (process.env.PERF_SUMMARY_ROW) {
  // one markdown row: cell | CPU µs/tx | then each group in µs/tx (or % without the bench's figure)
  const g = new Map<string, number>();
  for (const s of samples) {
    const k = group(where(s));
    g.set(k, (g.get(k) ?? 0) + 1);
  }
  const cell = (k: string) => (perTx === undefined ? `${((100 * (g.get(k) ?? 0)) / n).toFixed(0)} %` : ((perTx * (g.get(k) ?? 0)) / n).toFixed(1));
  process.stdout.write(`| ${title} | ${perTx ?? '?'} | ${GROUPS.map(cell).join(' | ')} |\n`);
  process.exit(0);
}

const out = [
  `#### ${title}: ${n} samples${perTx === undefined ? '' : `; the bench measured ${perTx} CPU µs per transaction for this arm`}\n`,
  table('where (innermost dbwarden frame, else what ran)', count(samples, where), n, 14),
  table('dbwarden file (innermost)', count(samples, fileOf), n, TOP),
  table('leaf kind', count(samples, leafKind), n, 10),
  table('top functions, self', count(samples, (s) => (s.frames[0] ? s.frames[0].sym.replace(/ file:\/\/\/.*?\/dist\//, ' ').replace(/ \(\/tmp\/perf-\d+\.map\)/, '') : undefined)), n, TOP),
  table('dbwarden functions, inclusive', count(samples, (s) => [...new Set(s.frames.map(distName).filter((d): d is string => Boolean(d)))]), n, TOP),
];
process.stdout.write(out.join('\n'));
