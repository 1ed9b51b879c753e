// Benchmark: how much of the ORM/driver corpus (test/corpus/*.sql) the shipped safe-defaults allow, and the decision cost.
// Usage: npx tsx bench/orm-corpus.ts [--write]   (--write replaces the "ORM and driver corpus acceptance" section of bench/RESULTS.md)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkSql } from '../src/rules/check.js';
import { loadRuleSets } from '../src/rules/load.js';
import { loadCorpus } from '../test/corpus/corpus.js';
import { median } from './lib/stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(REPO, 'bench/RESULTS.md');
const HEADING = '## ORM and driver corpus acceptance';
const { values: args } = parseArgs({ options: { write: { type: 'boolean' } } });

const loaded = loadRuleSets(join(REPO, 'rules'));
const rulesets = [loaded.rulesets.get('safe-defaults')!];
const lines: string[] = [HEADING, '', `Measured ${new Date().toISOString().slice(0, 10)} with \`npx tsx bench/orm-corpus.ts --write\`; rules: safe-defaults; correctness is asserted by test/corpus/orm-corpus.test.ts (every statement also runs on the real server).`, '',
  '| dialect | statements | decisions (statement × grant) | allowed | acceptance | median decision µs (uncached) |', '| --- | --- | --- | --- | --- | --- |'];
const refused: string[] = [];
for (const dialect of ['postgres', 'mysql'] as const) {
  const corpus = loadCorpus(dialect);
  let total = 0;
  let allowed = 0;
  const times: number[] = [];
  for (const e of corpus) {
    for (const access of e.access) {
      const t0 = process.hrtime.bigint();
      const r = checkSql({ sql: e.sql, dialect, access, target: 'app', rulesets });
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
      total++;
      if (r.action === 'allow') allowed++;
      else refused.push(`[${dialect} ${access}] ${e.sql} → ${r.action} ${r.rules.map((m) => m.id).join(',')}`);
    }
  }
  lines.push(`| ${dialect} | ${corpus.length} | ${total} | ${allowed} | ${((100 * allowed) / total).toFixed(1)} % | ${median(times).toFixed(0)} |`);
}
lines.push('');
console.log(lines.join('\n'));
if (refused.length) console.log(`refused:\n${refused.join('\n')}`);
if (args.write) {
  const text = readFileSync(RESULTS, 'utf8');
  const start = text.indexOf(HEADING);
  const section = lines.join('\n') + '\n';
  if (start < 0) writeFileSync(RESULTS, `${text.trimEnd()}\n\n${section}`);
  else {
    const next = text.indexOf('\n## ', start + HEADING.length);
    writeFileSync(RESULTS, text.slice(0, start) + section + (next < 0 ? '' : text.slice(next + 1)));
  }
}
