// Parse + evaluate cost of one statement decision (the hot-path work on a decision-cache miss), and the cost
// of a cache hit, for short OLTP statements and a ~5 KB ORM query, both dialects. Prints a markdown table.
// Run: npx tsx bench/decide-bench.ts
import { resolve } from 'node:path';
import { loadRuleSets } from '../src/rules/load.js';
import { Guard } from '../src/session/guard.js';
import { initSql } from '../src/sql/analyze.js';
import type { Dialect } from '../src/sql/facts.js';

await initSql();
const { rulesets } = loadRuleSets(resolve('rules'));
const sets = ['safe-defaults'].map((n) => rulesets.get(n)!);

const cols = Array.from({ length: 90 }, (_, i) => `t${i % 6}.column_name_${i} AS t${i % 6}__column_name_${i}`).join(', ');
const joins = Array.from({ length: 5 }, (_, i) => `LEFT OUTER JOIN app.table_${i + 1} AS t${i + 1} ON t${i + 1}.parent_id = t${i}.id`).join(' ');
const orm = `SELECT ${cols} FROM app.table_0 AS t0 ${joins} WHERE t0.tenant_id = 42 AND t0.deleted_at IS NULL AND t1.status IN ('a', 'b', 'c') ORDER BY t0.created_at DESC LIMIT 50 OFFSET 100`;

const cases: [Dialect, string, (i: number) => string][] = [
  ['postgres', 'point select', (i) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${i}`],
  ['postgres', 'scoped update', (i) => `UPDATE pgbench_accounts SET abalance = abalance + ${i} WHERE aid = ${i}`],
  ['postgres', `ORM query (${orm.length} bytes)`, (i) => orm.replace('42', String(i))],
  ['mysql', 'point select', (i) => `SELECT c FROM sbtest1 WHERE id=${i}`],
  ['mysql', 'scoped update', (i) => `UPDATE sbtest1 SET k=k+1 WHERE id=${i}`],
  ['mysql', `ORM query (${orm.length} bytes)`, (i) => orm.replace('42', String(i))],
];

function timeIt(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, n); i++) f(1_000_000 + i); // warm up the JIT and the WASM
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

console.log('| dialect | statement | miss: parse + evaluate (µs) | hit (µs) |');
console.log('| --- | --- | ---: | ---: |');
for (const [dialect, name, make] of cases) {
  const guard = new Guard({ dialect, access: 'write', target: 'bench', groups: [] }, sets, 100_000);
  const n = name.startsWith('ORM') ? 300 : 3000;
  const miss = timeIt(n, (i) => guard.decide(make(i)));
  const hot = make(7);
  guard.decide(hot);
  const hit = timeIt(100_000, () => guard.decide(hot));
  console.log(`| ${dialect} | ${name} | ${miss.toFixed(1)} | ${hit.toFixed(2)} |`);
}
