// audit.statementText: normalized texts keep no literal; full texts keep everything but password literals.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModule } from 'libpg-query';
import { auditStatementText, maskPasswords, normalizeStatement, replaceLiterals } from '../../../src/audit/statement-text.js';

beforeAll(async () => {
  await loadModule();
});

describe('normalized (postgres)', () => {
  it.each([
    ["select * from customers where email = 'ann@example.com' and id = 42", 'select * from customers where email = $1 and id = $2'],
    ["insert into t values (1, 'a'), (2, E'b\\'c')", 'insert into t values ($1, $2), ($3, $4)'],
    ['select * from t where a = $1 and b = 7', 'select * from t where a = $1 and b = $2'],
    ["alter role app password 'hunter2'", 'alter role app password $1'],
  ])('%s', (sql, want) => {
    expect(normalizeStatement(sql, 'postgres')).toBe(want);
  });

  it('falls back to the lexer for text PostgreSQL cannot parse, still removing every literal', () => {
    const out = normalizeStatement("selec * from t where name = 'Ann Smith' and x = 3.5e2 and y = $$dollar secret$$", 'postgres');
    expect(out).toBe('selec * from t where name = $1 and x = $2 and y = $3');
  });
});

describe('lexer literal pass', () => {
  it.each<[string, 'postgres' | 'mysql', string]>([
    ["SELECT * FROM t WHERE s = 'it''s' AND n = -12.5 AND h = 0x1F AND b = X'ff'", 'mysql', 'SELECT * FROM t WHERE s = ? AND n = -? AND h = ? AND b = ?'],
    ['SELECT * FROM t WHERE s = "double quoted is a string" AND `col1` = 1', 'mysql', 'SELECT * FROM t WHERE s = ? AND `col1` = ?'],
    ["SELECT 'a\\'b' , _utf8mb4'x', N'y'", 'mysql', 'SELECT ? , ?, ?'],
    ["/*!50000 SELECT 'hidden' */", 'mysql', '/*!50000 SELECT ? */'],
    ["SELECT 1 -- comment 'kept'\n, \"Col\" FROM t1 WHERE c2 = $tag$x$tag$", 'postgres', "SELECT $1 -- comment 'kept'\n, \"Col\" FROM t1 WHERE c2 = $2"],
    ["SELECT U&'d\\0061t', B'101', .5", 'postgres', 'SELECT $1, $2, $3'],
  ])('%s', (sql, dialect, want) => {
    expect(replaceLiterals(sql, dialect)).toBe(want);
  });

  it('never leaves a quoted value behind, even in unterminated strings', () => {
    expect(replaceLiterals("select 'never closed secret", 'postgres')).toBe('select $1');
    expect(replaceLiterals("select 'a'; select 'b' /* 'c' */", 'mysql')).toBe("select ?; select ? /* 'c' */");
  });
});

describe('full mode masks password literals only', () => {
  it.each<[string, 'postgres' | 'mysql', string]>([
    ["CREATE ROLE bob LOGIN PASSWORD 'S3cret!' VALID UNTIL '2030-01-01'", 'postgres', "CREATE ROLE bob LOGIN PASSWORD '***' VALID UNTIL '***'"],
    ["ALTER USER bob WITH ENCRYPTED PASSWORD 'md5abc'; SELECT 'keep'", 'postgres', "ALTER USER bob WITH ENCRYPTED PASSWORD '***'; SELECT 'keep'"],
    ["CREATE USER 'u'@'%' IDENTIFIED WITH mysql_native_password BY 'pw1'", 'mysql', "CREATE USER '***'@'***' IDENTIFIED WITH mysql_native_password BY '***'"],
    ["SET PASSWORD FOR u = 'pw2'", 'mysql', "SET PASSWORD FOR u = '***'"],
    ["SELECT password FROM users WHERE name = 'x'", 'postgres', "SELECT password FROM users WHERE name = '***'"],
    ["select * from t where name = 'ann'", 'postgres', "select * from t where name = 'ann'"],
  ])('%s', (sql, dialect, want) => {
    expect(maskPasswords(sql, dialect)).toBe(want);
    expect(auditStatementText('full', sql, dialect)).toBe(want);
  });

  it('normalized mode masks them too', () => {
    expect(auditStatementText('normalized', "ALTER ROLE x PASSWORD 'pw'", 'postgres')).toBe('ALTER ROLE x PASSWORD $1');
    expect(auditStatementText('normalized', "ALTER USER x IDENTIFIED BY 'pw'", 'mysql')).toBe('ALTER USER x IDENTIFIED BY ?');
  });
});
