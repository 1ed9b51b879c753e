// Benchmark: which MySQL parser accepts what MariaDB accepts, and how fast, over bench/corpus/mysql/*.sql.
// Usage: npx tsx bench/mysql-parser-corpus.ts [--write] [--rounds N] [--list]
//   --write  replaces the "MySQL parser acceptance" section of bench/RESULTS.md (only that section)
//   --list   prints every statement a candidate rejects although MariaDB accepts it
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { init as initSqlparserRs, parse as parseRs } from '@guanmingchiu/sqlparser-ts';
import mysql from 'mysql2/promise';
import nodeSqlParser from 'node-sql-parser';
import { analyze, initSql } from '../src/sql/analyze.js';
import { lexMysql, type ServerModel } from '../src/sql/mysql-lexer.js';
import { median } from './lib/stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = join(REPO, 'bench/corpus/mysql');
const RESULTS = join(REPO, 'bench/RESULTS.md');
const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
const SCRATCH_DB = 'dbw_parser_corpus';
/** Errors that mean "the server could not parse it"; any other error came after a successful parse. */
const PARSE_ERRNOS = new Set([1064, 1065, 1149]);

interface Entry {
  file: string;
  sql: string;
}

interface Candidate {
  name: string;
  parse: (sql: string) => void;
}

const { values: args } = parseArgs({
  options: { write: { type: 'boolean' }, rounds: { type: 'string', default: '200' }, list: { type: 'boolean' } },
});
const ROUNDS = Number(args.rounds);

function loadCorpus(): Entry[] {
  const out: Entry[] = [];
  for (const file of readdirSync(CORPUS).filter((f) => f.endsWith('.sql')).sort()) {
    for (const line of readFileSync(join(CORPUS, file), 'utf8').split('\n')) {
      if (line.trim() === '' || line.startsWith('##')) continue;
      // the corpus writes newlines inside strings as \n escapes, so one line is one statement
      out.push({ file, sql: line });
    }
  }
  return out;
}

/** MariaDB's verdict per statement via COM_STMT_PREPARE (parses, never executes), or null when unreachable. */
async function groundTruth(entries: Entry[]): Promise<{ version: string; valid: boolean[] } | null> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ ...MARIADB, connectTimeout: 3000 });
  } catch (err) {
    console.error(`MariaDB not reachable (${(err as Error).message}); no ground truth`);
    return null;
  }
  try {
    const [rows] = await conn.query('SELECT VERSION() AS v');
    const version = String((rows as Array<{ v: string }>)[0]!.v);
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${SCRATCH_DB}`);
    await conn.query(`USE ${SCRATCH_DB}`);
    await conn.query('CREATE TABLE IF NOT EXISTS users (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(255), created_at DATETIME, last_seen DATETIME, vip INT, note TEXT)');
    await conn.query('CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2), note TEXT, created_at DATETIME)');
    const valid: boolean[] = [];
    for (const e of entries) {
      try {
        const stmt = await conn.prepare(e.sql);
        stmt.close();
        valid.push(true);
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        valid.push(errno === undefined || !PARSE_ERRNOS.has(errno));
      }
    }
    return { version, valid };
  } finally {
    await conn.end();
  }
}

function serverModel(version: string): ServerModel {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const num = m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 101100;
  return { mariadb: /mariadb/i.test(version), version: num };
}

function candidates(): Candidate[] {
  const nsp = new nodeSqlParser.Parser();
  return [
    { name: 'sqlparser-rs (mysql)', parse: (s) => void parseRs(s, 'mysql') },
    { name: 'sqlparser-rs (generic)', parse: (s) => void parseRs(s, 'generic') },
    { name: 'node-sql-parser (MariaDB)', parse: (s) => void nsp.astify(s, { database: 'MariaDB' }) },
    { name: 'node-sql-parser (MySQL)', parse: (s) => void nsp.astify(s, { database: 'MySQL' }) },
  ];
}

function accepts(c: Candidate, sql: string): boolean {
  try {
    c.parse(sql);
    return true;
  } catch {
    return false;
  }
}

/** Median microseconds per call over ROUNDS calls after a warm-up. */
function timeUs(fn: () => void): number {
  for (let i = 0; i < 5; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS / 5; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / (ROUNDS / 5));
  }
  return median(samples);
}

interface Row {
  name: string;
  accepted: number;
  acceptedValid: number;
  acceptedInvalid: number;
  medianUs: number;
  p95Us: number;
  rejectedValid: string[];
}

async function main(): Promise<void> {
  await initSqlparserRs();
  await initSql();
  const entries = loadCorpus();
  const truth = await groundTruth(entries);
  const server = serverModel(truth?.version ?? '10.11.0-MariaDB');
  const valid = truth?.valid ?? entries.map(() => true);
  // every candidate sees what the broker would hand it: the lexer's canonical statement text
  const lexed = entries.map((e) => {
    const r = lexMysql(e.sql, { server });
    return r.ok ? r.statements.map((s) => s.text) : null;
  });

  const rows: Row[] = [];
  const evaluate = (name: string, acceptOne: (canonical: string[] | null, raw: string) => boolean, time: (canonical: string[], raw: string) => () => void): void => {
    const row: Row = { name, accepted: 0, acceptedValid: 0, acceptedInvalid: 0, medianUs: 0, p95Us: 0, rejectedValid: [] };
    const times: number[] = [];
    entries.forEach((e, i) => {
      const ok = acceptOne(lexed[i]!, e.sql);
      if (ok) {
        row.accepted++;
        if (valid[i]) row.acceptedValid++;
        else row.acceptedInvalid++;
        times.push(timeUs(time(lexed[i] ?? [], e.sql)));
      } else if (valid[i]) {
        row.rejectedValid.push(`${e.file}: ${e.sql}`);
      }
    });
    times.sort((a, b) => a - b);
    row.medianUs = median(times);
    row.p95Us = times[Math.min(times.length - 1, Math.floor(times.length * 0.95))] ?? Number.NaN;
    rows.push(row);
  };

  for (const c of candidates()) {
    evaluate(
      c.name,
      (canonical) => canonical !== null && canonical.every((s) => accepts(c, s)),
      (canonical) => () => { for (const s of canonical) c.parse(s); },
    );
  }
  // the whole pipeline as the broker runs it (lexer + parser + facts), without the cache
  evaluate(
    'dbwarden analyze (lexer + choice + facts)',
    (_c, raw) => analyze('mysql', raw, { serverVersion: server.version, mariadb: server.mariadb }).every((f) => f.kind !== 'unparsed'),
    (_c, raw) => () => void analyze('mysql', raw, { serverVersion: server.version, mariadb: server.mariadb }),
  );

  const validCount = valid.filter(Boolean).length;
  const lines: string[] = [];
  lines.push(`Corpus: ${entries.length} statements in bench/corpus/mysql/*.sql (${[...new Set(entries.map((e) => e.file))].join(', ')}).`);
  lines.push(truth
    ? `Ground truth: ${truth.version} via COM_STMT_PREPARE on a scratch database: ${validCount} valid, ${entries.length - validCount} rejected (syntax error).`
    : 'Ground truth: MariaDB unreachable, every statement counted as valid.');
  lines.push(`Time: median of per-statement medians over accepted statements (${ROUNDS} calls each), Node ${process.version}.`);
  lines.push('');
  lines.push('| parser | accepts valid | accepts invalid | median µs | p95 µs |');
  lines.push('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const pct = ((100 * r.acceptedValid) / validCount).toFixed(1);
    lines.push(`| ${r.name} | ${r.acceptedValid}/${validCount} (${pct}%) | ${r.acceptedInvalid} | ${r.medianUs.toFixed(1)} | ${r.p95Us.toFixed(1)} |`);
  }
  const report = lines.join('\n');
  console.log(report);
  for (const r of rows) {
    if (!args.list || r.rejectedValid.length === 0) continue;
    console.log(`\n${r.name} rejects ${r.rejectedValid.length} valid statements:`);
    for (const s of r.rejectedValid) console.log(`  ${s.slice(0, 160)}`);
  }
  if (args.write) writeSection(report);
}

const BEGIN = '<!-- mysql-parser:begin (bench/mysql-parser-corpus.ts --write rewrites down to mysql-parser:end) -->';
const END = '<!-- mysql-parser:end -->';

/** Rewrites only the figures between this benchmark's own markers; appends the section the first time. */
function writeSection(report: string): void {
  const text = readFileSync(RESULTS, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start >= 0 && end > start) {
    writeFileSync(RESULTS, `${text.slice(0, start + BEGIN.length)}\n${report}\n${text.slice(end)}`);
  } else {
    writeFileSync(RESULTS, `${text.replace(/\n*$/, '\n')}\n## MySQL parser acceptance\n\n${BEGIN}\n${report}\n${END}\n`);
  }
}

await main();
