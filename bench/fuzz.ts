// Coverage-guided fuzzing of the byte and text readers a client reaches first: the PostgreSQL message framer (with
// the decoders of the messages it fetches), the MySQL packet framer (with the handshake and response decoders), the
// MySQL lexer, the PostgreSQL shape scanner and the statement analysis of both dialects. No fuzzing engine is a
// dependency: V8's own block coverage (node:inspector, Profiler.takePreciseCoverage) tells which inputs reach code no
// earlier input reached, and those are kept in bench/fuzz-corpus/<target>/ and mutated further.
//
//   npx tsx bench/fuzz.ts --seconds 300                 every target, the time split between them
//   npx tsx bench/fuzz.ts --target mysql-lexer --seconds 60
//   npx tsx bench/fuzz.ts --replay                      runs the kept corpus once (a quick regression check)
//
// A crash is an exception other than the reader's own refusal, or a broken invariant; its input is written to
// bench/fuzz-corpus/<target>/crash-<hash> and the run exits 1.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BrokerError } from '../src/errors.js';
import { PacketScanner, type Disposition } from '../src/mysql/framer.js';
import {
  DecodeError as MyDecodeError, decodeAuthSwitchRequest, decodeErr, decodeHandshakeResponse41, decodeHandshakeV10, decodeOk, decodeStatus,
} from '../src/mysql/packets.js';
import { fetchSet, MessageScanner } from '../src/pg/framer.js';
import { DecodeError as PgDecodeError, decodeFields, decodeParse, decodeQuery, decodeStartupParams } from '../src/pg/messages.js';
import { analyze, initSql } from '../src/sql/analyze.js';
import { lexMysql } from '../src/sql/mysql-lexer.js';
import { pgShapeKey } from '../src/sql/pg-shape.js';

const CORPUS = resolve('bench/fuzz-corpus');
const MAX_LEN = 2048;

/** A refusal the reader is allowed to give; anything else thrown is a crash. */
const refusal = (e: unknown) => e instanceof BrokerError || e instanceof PgDecodeError || e instanceof MyDecodeError;

function quietly(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!refusal(e)) throw e;
  }
}

/** Cuts the input in up to three chunks at points taken from its first bytes, so chunk boundaries get fuzzed too. */
/** Feeds a framer the input in fuzz-chosen pieces; a protocol refusal ends the run (anything else escapes). */
function feed(scanner: { push(chunk: Buffer): void }, input: Buffer): void {
  for (const c of chunks(input)) {
    try {
      scanner.push(c);
    } catch (e) {
      if (!refusal(e)) throw e;
      return;
    }
  }
}

function chunks(buf: Buffer): Buffer[] {
  if (buf.length < 3) return [buf];
  const a = buf[0]! % buf.length;
  const b = a + (buf[1]! % (buf.length - a + 1));
  return [buf.subarray(2, Math.max(2, a)), buf.subarray(Math.max(2, a), Math.max(2, b)), buf.subarray(Math.max(2, b))];
}

/** Reading flags from the first byte, the text from the rest. */
function textOf(buf: Buffer): { flags: number; text: string } {
  return { flags: buf[0] ?? 0, text: buf.subarray(1).toString('utf8') };
}

export interface Target {
  name: string;
  run(input: Buffer): void;
  seeds: string[];
}

const PG_FETCH = fetchSet([0x51, 0x50, 0x42, 0x44, 0x45, 0x46, 0x58, 0x53, 0x43, 0x48]); // Q P B D E F X S C H

export const TARGETS: Target[] = [
  {
    name: 'pg-framer',
    run(input) {
      const scanner = new MessageScanner(PG_FETCH, 1024, {
        onForward: () => undefined,
        onMessage: (code, body, raw) => {
          if (raw[0] !== code || raw.readInt32BE(1) !== body.length + 4) throw new Error('invariant: raw header does not match the message');
          quietly(() => (code === 0x51 ? decodeQuery(body) : code === 0x50 ? decodeParse(body) : decodeFields(body)));
        },
      });
      // the first message of a connection has no type byte: the startup decoder reads it
      quietly(() => decodeStartupParams(input.subarray(2)));
      feed(scanner, input);
    },
    seeds: [
      // Query "select 1", Parse, Sync, Terminate
      '0000' + '51' + '0000000d' + Buffer.from('select 1\0').toString('hex') + '50' + '00000010' + Buffer.from('s1\0select 1\0').toString('hex') + '0000' + '53' + '00000004' + '58' + '00000004',
      // startup packet
      '0404' + '00000022' + '00030000' + Buffer.from('user\0alice\0database\0app\0\0').toString('hex'),
    ],
  },
  {
    name: 'mysql-framer',
    run(input) {
      const dispositions: Disposition[] = ['fetch', 'send', 'skip'];
      const scanner = new PacketScanner(1024, {
        onStart: (_seq, _len, first) => dispositions[(first < 0 ? 0 : first) % 3]!,
        onForward: () => undefined,
        onPacket: (payload) => {
          quietly(() => decodeHandshakeV10(payload));
          quietly(() => decodeHandshakeResponse41(payload));
          quietly(() => decodeOk(payload));
          quietly(() => decodeErr(payload));
          quietly(() => decodeStatus(payload));
          quietly(() => decodeAuthSwitchRequest(payload));
        },
      });
      feed(scanner, input);
    },
    seeds: [
      // COM_QUERY "select 1", COM_PING, an OK packet
      '0000' + '090000' + '00' + '03' + Buffer.from('select 1').toString('hex') + '010000' + '00' + '0e' + '070000' + '01' + '00' + '00' + '00' + '02000000',
      // handshake response 41 (capabilities, max packet, charset, filler, user)
      '0000' + '2a0000' + '01' + '85a6ff01' + '00000001' + '21' + '00'.repeat(23) + Buffer.from('alice\0').toString('hex') + '00' + Buffer.from('app\0').toString('hex'),
    ],
  },
  {
    name: 'mysql-lexer',
    run(input) {
      const { flags, text } = textOf(input);
      const mariadb = (flags & 1) === 1;
      const r = lexMysql(text, { server: { mariadb, version: mariadb ? 101105 : 80036 }, ansiQuotes: (flags & 2) === 2, noBackslashEscapes: (flags & 4) === 4 });
      if (typeof r.ok !== 'boolean') throw new Error('invariant: lexer result without ok');
    },
    seeds: ["\u0000select * from t where a = 'x\\'y' -- c\n; update t set a=1", '\u0001/*!50000 select */ `a``b` from "t"; select 1 # x', '\u0007select \'a\'\'b\' /*M! 1 */ from t'],
  },
  {
    name: 'pg-shape',
    run(input) {
      const k = pgShapeKey(input.toString('utf8'));
      // a shape key shares one decision between texts: it must never keep quoting or comments it did not understand
      if (k !== undefined && /['"\\$]|--|\/\*/.test(k)) throw new Error(`invariant: shape key keeps a quote or comment: ${k}`);
    },
    seeds: ['select a, b from t where id = 42 and name = \'x\'', 'select $1::int, E\'a\\nb\', $$x$$ from t -- c', 'update t set a = 1.5e3 where b in (1, 2, 3)'],
  },
  {
    name: 'analyze',
    run(input) {
      const { flags, text } = textOf(input);
      const facts = analyze(flags & 1 ? 'mysql' : 'postgres', text);
      if (!Array.isArray(facts) || facts.some((f) => typeof f.kind !== 'string')) throw new Error('invariant: analysis without facts');
    },
    seeds: ['\u0000select a from t join u using (id) where x in (select y from v)', '\u0001update t set a = 1 where id = 2; delete from u', '\u0000with w as (delete from t returning *) select * from w', '\u0001SELECT * FROM t INTO OUTFILE \'/tmp/x\''],
  },
];

/** Block coverage since the last call: keys of source ranges in src/ that ran, with a coarse hit-count bucket. */
async function coverage(session: Session): Promise<Set<string>> {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const out = new Set<string>();
  for (const script of result) {
    if (!script.url.includes('/src/')) continue;
    for (const fn of script.functions) {
      for (const r of fn.ranges) {
        if (r.count > 0) out.add(`${script.url}:${r.startOffset}:${r.endOffset}:${Math.min(4, Math.floor(Math.log2(r.count)))}`);
      }
    }
  }
  return out;
}

const DICT = [
  "'", '"', '`', '\\', '/*', '*/', '/*!', '/*M!', '-- ', '#', '\n', '$$', '$a$', "E'", 'U&"', '::', ';', '(', ')', '\0', 'select ', 'from ', 'where ',
  'update ', 'delete ', 'insert into ', 'with ', 'union ', 'into outfile ', 'copy ', 'call ', 'set ', 'begin', 'commit', 'é', '中', '\u00a0', '\xff',
].map((s) => Buffer.from(s, 'utf8'));
const INTERESTING32 = [0, 1, 4, 5, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x40000000];

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

/** One to four random edits of an input: bit flips, interesting lengths, dictionary tokens, splices. */
function mutate(input: Buffer, corpus: Buffer[]): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + rnd(4);
  for (let i = 0; i < edits; i++) {
    const at = rnd(b.length + 1);
    switch (rnd(9)) {
      case 0:
        if (b.length) b[rnd(b.length)]! ^= 1 << rnd(8);
        break;
      case 1:
        if (b.length) b[rnd(b.length)] = [0, 0xff, 0x7f, 0x80, 0x20, 0x27, 0x5c][rnd(7)]!;
        break;
      case 2:
        if (b.length >= 4) b.writeUInt32BE(INTERESTING32[rnd(INTERESTING32.length)]! >>> 0, rnd(b.length - 3));
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), randomBytes(1 + rnd(8)), b.subarray(at)]);
        break;
      case 4: {
        const len = rnd(Math.min(32, b.length - at) + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      case 5: {
        const len = rnd(Math.min(64, b.length - at) + 1);
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 6:
        b = Buffer.concat([b.subarray(0, at), DICT[rnd(DICT.length)]!, b.subarray(at)]);
        break;
      case 7: {
        const other = corpus[rnd(corpus.length)]!;
        const from = rnd(other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + rnd(128)), b.subarray(at)]);
        break;
      }
      default:
        if (b.length) b[rnd(b.length)] = rnd(256);
    }
  }
  return b.length > MAX_LEN ? b.subarray(0, MAX_LEN) : b;
}

const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

interface TargetReport {
  target: string;
  execs: number;
  execsPerSecond: number;
  corpusStart: number;
  corpusEnd: number;
  coveredRanges: number;
  crashes: string[];
  slowestMs: number;
}

async function fuzzTarget(session: Session, t: Target, ms: number, replayOnly: boolean): Promise<TargetReport> {
  const dir = join(CORPUS, t.name);
  mkdirSync(dir, { recursive: true });
  const stored = readdirSync(dir).filter((f) => !f.startsWith('crash-')).map((f) => readFileSync(join(dir, f)));
  const seeds = stored.length ? stored : t.seeds.map((s) => (/^[0-9a-f]+$/.test(s) && s.length % 2 === 0 ? Buffer.from(s, 'hex') : Buffer.from(s, 'utf8')));
  const seen = new Set<string>();
  const corpus: Buffer[] = [];
  const crashes: string[] = [];
  let execs = 0;
  let slowest = 0;
  const exec = async (input: Buffer): Promise<boolean> => {
    const t0 = performance.now();
    try {
      t.run(input);
    } catch (e) {
      const name = `crash-${hash(input)}`;
      writeFileSync(join(dir, name), input);
      crashes.push(`${name}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
    execs++;
    let fresh = false;
    for (const k of await coverage(session)) {
      if (!seen.has(k)) {
        seen.add(k);
        fresh = true;
      }
    }
    return fresh;
  };
  await coverage(session); // start from zero: drop what ran before this target
  for (const s of seeds) if ((await exec(s)) || replayOnly) corpus.push(s);
  const corpusStart = corpus.length;
  const started = Date.now();
  if (!replayOnly) {
    while (Date.now() - started < ms && crashes.length < 5) {
      const input = mutate(corpus[rnd(corpus.length)]!, corpus);
      if (await exec(input)) {
        corpus.push(input);
        writeFileSync(join(dir, hash(input)), input);
      }
    }
  }
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  return { target: t.name, execs, execsPerSecond: Math.round(execs / secs), corpusStart, corpusEnd: corpus.length, coveredRanges: seen.size, crashes, slowestMs: Math.round(slowest) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, target: { type: 'string', default: 'all' }, replay: { type: 'boolean', default: false } } });
  await initSql();
  const chosen = values.target === 'all' ? TARGETS : TARGETS.filter((t) => t.name === values.target);
  if (!chosen.length) throw new Error(`unknown target ${values.target}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  if (!existsSync(CORPUS)) mkdirSync(CORPUS, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const per = (Number(values.seconds) * 1000) / chosen.length;
  const reports: TargetReport[] = [];
  for (const t of chosen) {
    const r = await fuzzTarget(session, t, per, values.replay);
    console.error(`${r.target}: ${r.execs} execs (${r.execsPerSecond}/s), corpus ${r.corpusStart} → ${r.corpusEnd}, ${r.coveredRanges} covered ranges, ${r.crashes.length} crashes, slowest ${r.slowestMs} ms`);
    for (const c of r.crashes) console.error(`  ${c}`);
    reports.push(r);
  }
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  console.log(JSON.stringify(reports, null, 2));
  if (reports.some((r) => r.crashes.length)) process.exit(1);
}

/** The kept inputs of one target, for replay in the unit tests (a crash fixed once stays fixed). */
export function corpusOf(target: string): { name: string; input: Buffer }[] {
  const dir = join(CORPUS, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((name) => ({ name, input: readFileSync(join(dir, name)) }));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
