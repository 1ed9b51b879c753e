// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. the benches' --cpu-prof DIR): top functions by self time.
// Usage: npx tsx bench/profile-top.ts FILE.cpuprofile [N] [SKIP_MS]   (a markdown table for bench/RESULTS.md;
// SKIP_MS leaves out the first milliseconds of the profile (the broker's start-up and module loading); a negative
// SKIP_MS keeps only the last -SKIP_MS milliseconds)
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, nArg, skipArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile-top.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const selfUs = new Map<number, number>();
const totalUs = prof.timeDeltas.reduce((a, d) => a + Math.max(0, d), 0);
const skipArgUs = Number(skipArg ?? 0) * 1000;
const skipUs = skipArgUs < 0 ? totalUs + skipArgUs : skipArgUs;
let at = 0;
prof.samples.forEach((id, i) => {
  const d = Math.max(0, prof.timeDeltas[i] ?? 0);
  at += d;
  if (at >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + d);
});
const byFn = new Map<string, number>();
let total = 0;
let idle = 0;
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (name === '(idle)') {
    idle += us;
    continue;
  }
  total += us;
  const where = f.url ? `${basename(f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
  const key = where ? `${name} (${where})` : name;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
}
const top = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25));
process.stdout.write(`busy ${(total / 1e6).toFixed(2)} s (idle ${(idle / 1e6).toFixed(2)} s)\n\n| self % | self ms | function |\n| ---: | ---: | --- |\n`);
for (const [k, us] of top) process.stdout.write(`| ${((100 * us) / total).toFixed(1)} | ${(us / 1000).toFixed(0)} | \`${k}\` |\n`);
