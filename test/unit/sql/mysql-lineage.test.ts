// MySQL lineage pieces: view definitions as MariaDB prints them, function bodies, ALTER TABLE renames, the catalog
// snapshot's per-column masks (views over views, aliases, unknown definitions), and derived tables in UPDATE/DELETE.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import { alterColumnMoves, routineBodyLineage, viewDefinitionLineage } from '../../../src/sql/mysql-lineage.js';
import { MysqlSchema, viewColumnMask } from '../../../src/session/mysql-schema.js';
import { mysqlMaskVerdict } from '../../../src/session/mysql-mask-verdict.js';
import type { ColumnMask } from '../../../src/rules/mask.js';
import type { Decision } from '../../../src/rules/types.js';

beforeAll(async () => {
  await initSql();
});

const MASKS: ColumnMask[] = [
  { ruleId: 'mask-email', mask: 'email', columns: ['*.*.email'], ruleset: 'pii', message: 'emails' },
  { ruleId: 'mask-ssn', mask: 'redact', columns: ['db.people.ssn'], ruleset: 'pii', message: 'ssn' },
];

describe('view definitions', () => {
  it('reads each column of a MariaDB-printed definition', () => {
    const l = viewDefinitionLineage('select `db`.`u`.`id` AS `a`,concat(`db`.`u`.`email`,\'x\') AS `b` from `db`.`u`')!;
    expect(l.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect([...l.columns[0]!.refs]).toEqual(['db.u.id']);
    expect([...l.columns[1]!.refs]).toEqual(['db.u.email']);
    expect(l.tables).toEqual(['db.u']);
  });
  it('a derived table gives every column every reference', () => {
    const l = viewDefinitionLineage('select `d`.`x` AS `x`,`d`.`id` AS `id` from (select `db`.`u`.`email` AS `x`,`db`.`u`.`id` AS `id` from `db`.`u`) `d`')!;
    for (const c of l.columns) expect(c.refs.has('db.u.email')).toBe(true);
  });
  it('an item without an alias is unreadable', () => {
    expect(viewDefinitionLineage('select `db`.`u`.`id` from `db`.`u`')).toBeNull();
    expect(viewDefinitionLineage('')).toBeNull();
  });
});

describe('catalog snapshot', () => {
  const schema = new MysqlSchema(
    [
      { schema: 'db', name: 'v1', definition: 'select `db`.`u`.`id` AS `id`,`db`.`u`.`email` AS `contact` from `db`.`u`' },
      { schema: 'db', name: 'v2', definition: 'select `v1`.`contact` AS `c2`,`v1`.`id` AS `id` from `db`.`v1`' },
      { schema: 'db', name: 'v3', definition: 'select `x`.`ssn` AS `s` from `db`.`people` `x`' },
      { schema: 'db', name: 'hidden', definition: null },
      { schema: 'db', name: 'vf', definition: 'select `db`.`f`(`db`.`u`.`id`) AS `r` from `db`.`u`' },
      { schema: 'db', name: 'vx', definition: "select concat(substring_index(`db`.`u`.`email`,'@',-1),'@',substring_index(`db`.`u`.`email`,'@',1)) AS `x`,`db`.`u`.`email` AS `e` from `db`.`u`" },
    ],
    [
      { schema: 'db', name: 'f', type: 'FUNCTION', definition: 'return (select email from u where id = i)' },
      { schema: 'db', name: 'g', type: 'FUNCTION', definition: 'begin return 1; end' },
    ],
    Date.now(),
  );
  const m = (t: string, c: string) => viewColumnMask(schema, MASKS, 'db', t, c);
  it('a renamed masked column is masked, a clean one is not', () => {
    expect(m('v1', 'contact')).toBe('email');
    expect(m('v1', 'id')).toBeNull();
  });
  it('views over views and aliases resolve to base columns', () => {
    expect(m('v2', 'c2')).toBe('email');
    expect(m('v2', 'id')).toBeNull();
    expect(m('v3', 's')).toBe('redact');
  });
  it('a view column computed from a masked column is redacted whole; a plain one keeps the column\'s mask', () => {
    // the email mask keeps what follows the last @: on a value the view reshaped that would be the local part
    expect(m('vx', 'x')).toBe('redact');
    expect(m('vx', 'e')).toBe('email');
  });
  it('a hidden definition masks every column with the strictest mask (fail closed)', () => {
    expect(m('hidden', 'anything')).toBe('redact');
  });
  it('a function called in a view is traced through its RETURN body; its result is computed, so redacted whole', () => {
    expect(m('vf', 'r')).toBe('redact');
  });
  it('not a view: undefined; no snapshot: strictest', () => {
    expect(m('u', 'email')).toBeUndefined();
    expect(viewColumnMask(null, MASKS, 'db', 'u', 'id')).toBe('redact');
  });
  it('a compound function body is unknown', () => {
    expect(schema.callSources('g', 'db').has('?')).toBe(true);
    expect(schema.callSources('concat', 'db').size).toBe(0);
  });
  it('the rule files can mark a view clean', () => {
    expect(viewColumnMask(schema.withClean(['db.v1']), MASKS, 'db', 'v1', 'contact')).toBeNull();
  });

  const decide = (sql: string): Decision => {
    const statements = analyze('mysql', sql, { mariadb: true });
    return mysqlMaskVerdict(sql, { action: 'allow', rules: [], statements }, MASKS, { schema, database: 'db' });
  };
  it('reading a view that carries masked values raises the statement to mask', () => {
    expect(decide('SELECT contact FROM v1').action).toBe('mask');
    expect(decide('SELECT id FROM u').action).toBe('allow');
    expect(decide('SELECT f(1)').action).toBe('mask');
  });
  it('copying out of such a view is refused', () => {
    const d = decide('INSERT INTO sink SELECT id, contact FROM v1');
    expect(d.action).toBe('block');
    expect(d.rules[0]!.id).toBe('mask-email');
  });
  it('renaming a masked column is refused, a clean one is not', () => {
    expect(decide('ALTER TABLE u CHANGE email contact varchar(10)').action).toBe('block');
    expect(decide('ALTER TABLE people RENAME COLUMN ssn TO s').action).toBe('block');
    expect(decide('ALTER TABLE u CHANGE note note2 varchar(10)').action).toBe('allow');
  });
});

describe('function bodies and renames', () => {
  it('RETURN bodies are read as expressions', () => {
    const l = routineBodyLineage('RETURN (SELECT email FROM u WHERE id = i)')!;
    expect(l.refs.has('u.email')).toBe(true);
    expect(l.tables).toEqual(['u']);
    expect(routineBodyLineage('begin select 1; end')).toBeNull();
  });
  it('ALTER TABLE renames, whatever the comments and quoting', () => {
    expect(alterColumnMoves('ALTER TABLE t CHANGE /* c */ COLUMN `Email` contact int, RENAME COLUMN ssn TO s')).toEqual([
      { table: 't', column: 'email' },
      { table: 't', column: 'ssn' },
    ]);
    expect(alterColumnMoves('ALTER TABLE db.t ADD COLUMN change_log int')).toEqual([]);
  });
});

describe('derived tables in UPDATE/DELETE join lists are read', () => {
  it('functions and columns inside them are facts', () => {
    const [u] = analyze('mysql', "UPDATE a JOIN (SELECT id, load_file('/etc/passwd') AS e FROM u) b ON a.id = b.id SET a.x = b.e WHERE a.id = 1", { mariadb: true });
    expect(u!.functions).toContain('load_file');
    expect(u!.effects).toContain('file');
    const [d] = analyze('mysql', 'DELETE a FROM a JOIN (SELECT id, email FROM u) b ON a.id = b.id WHERE a.id = 1', { mariadb: true });
    expect(d!.columns).toContain('email');
    expect(d!.tables.map((t) => t.name)).toContain('u');
  });
});
