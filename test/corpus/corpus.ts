// Loads the ORM/driver corpus (test/corpus/*.sql): one statement per line, "R " for statements a read grant sends too.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessLevel } from '../../src/rules/types.js';
import type { Dialect } from '../../src/sql/facts.js';

export interface CorpusEntry {
  dialect: Dialect;
  /** the grants the statement must be allowed under */
  access: AccessLevel[];
  /** the framework section it came from */
  section: string;
  sql: string;
}

const DIR = dirname(fileURLToPath(import.meta.url));

export function loadCorpus(dialect: Dialect): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  let section = '';
  for (const line of readFileSync(join(DIR, `${dialect}.sql`), 'utf8').split('\n')) {
    if (line.startsWith('## ')) { section = line.slice(3); continue; }
    const m = /^([RW]) (.+)$/.exec(line);
    if (!m) continue;
    out.push({ dialect, access: m[1] === 'R' ? ['read', 'write'] : ['write'], section, sql: m[2]! });
  }
  return out;
}
