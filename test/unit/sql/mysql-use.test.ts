// The USE fact: the database a USE switches to, read as the server reads the text.
import { describe, expect, it } from 'vitest';
import '../../../src/rules/check.js';
import { mysqlFacts } from '../../../src/sql/mysql-facts.js';

const dbs = (t: string) => mysqlFacts(t).filter((f) => f.database !== undefined).map((f) => f.database);

describe('USE facts', () => {
  const table: [string, string[]][] = [
    ['USE app', ['app']],
    ['use App', ['App']],
    ['USE `a``b`', ['a`b']],
    ['/*!USE other*/', ['other']],
    ['/*!50000 USE other */', ['other']],
    ['SELECT 1; USE `x y`; USE z', ['x y', 'z']],
    ['USE', ['']],
    ['SELECT 1', []],
    ["SELECT 'USE other'", []],
  ];
  for (const [text, want] of table) it(`${text} → ${JSON.stringify(want)}`, () => expect(dbs(text)).toEqual(want));
});
