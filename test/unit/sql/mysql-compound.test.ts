// MySQL compound statements: where the lexer ends a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT whose body is a
// compound statement (mysql-compound.ts via mysql-lexer.ts), and what the body reader hands the rules
// (mysql-routine-body.ts). The same texts are run on the real server in test/integration/reading-mysql-compound.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lexMysql, type LexOptions } from '../../../src/sql/mysql-lexer.js';
import { routineCompoundBody } from '../../../src/sql/mysql-routine-body.js';

const SERVER = { mariadb: true, version: 101119 };

function split(sql: string, opts: Partial<LexOptions> = {}): string[] {
  const r = lexMysql(sql, { server: SERVER, ...opts });
  if (!r.ok) throw new Error(`lex failed: ${r.error}`);
  return r.statements.map((s) => s.text.replace(/\s+/g, ' '));
}

function refused(sql: string, opts: Partial<LexOptions> = {}): string {
  const r = lexMysql(sql, { server: SERVER, ...opts });
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.statements.map((s) => s.text))}`);
  return r.error;
}

/** A body nesting every kind of block, with a `;` at every depth. */
const NESTED = [
  'CREATE PROCEDURE p(IN i INT)',
  'outer_blk: BEGIN',
  '  DECLARE n INT DEFAULT 0;',
  '  DECLARE done INT DEFAULT 0;',
  '  DECLARE c CURSOR FOR SELECT id FROM t WHERE id > i;',
  '  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;',
  '  DECLARE EXIT HANDLER FOR SQLSTATE \'23000\', SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;',
  '  IF i > 0 THEN SELECT 1; ELSEIF i < 0 THEN SELECT 2; ELSE BEGIN SELECT 3; END; END IF;',
  '  CASE i WHEN 1 THEN SELECT 4; WHEN 2 THEN BEGIN SELECT 5; END; ELSE SELECT 6; END CASE;',
  '  CASE WHEN i = 1 THEN SELECT 7; END CASE;',
  '  OPEN c;',
  '  rd: LOOP FETCH c INTO n; IF done THEN LEAVE rd; END IF; SET n = n + 1; END LOOP rd;',
  '  CLOSE c;',
  '  w: WHILE n > 0 DO SET n = n - 1; IF n = 3 THEN ITERATE w; END IF; END WHILE w;',
  '  REPEAT SET n = n + 1; UNTIL n > 5 END REPEAT;',
  '  inner_blk: BEGIN SELECT CASE WHEN n > 1 THEN \'a\' ELSE \'b\' END; END inner_blk;',
  '  SIGNAL SQLSTATE \'45000\' SET MESSAGE_TEXT = \'stop\';',
  'END outer_blk',
].join('\n');

describe('the split ends a compound body at the END that closes it', () => {
  it('reads a body nesting every block kind as one statement, and the statement after it as the next', () => {
    const s = split(`${NESTED}; SELECT 'after'`);
    expect(s).toHaveLength(2);
    expect(s[0]).toMatch(/^CREATE PROCEDURE p\(IN i INT\) outer_blk: BEGIN .* END outer_blk$/);
    expect(s[1]).toBe("SELECT 'after'");
  });

  it('never ends the statement at an inner `;`: every prefix cut at one is an unfinished statement, refused', () => {
    const text = `${NESTED}; SELECT 'after'`;
    let cuts = 0;
    for (let at = text.indexOf(';'); at >= 0 && at < NESTED.length; at = text.indexOf(';', at + 1)) {
      cuts++;
      // the prefix and then another statement: had the lexer ended the body there, `DELETE FROM t` would stand alone
      const r = lexMysql(`${text.slice(0, at + 1)} DELETE FROM t`, { server: SERVER });
      expect(r.ok, text.slice(0, at + 1)).toBe(false);
      expect(r.statements).toEqual([]);
    }
    expect(cuts).toBeGreaterThan(25);
  });

  it('splits plain bodies and other statements at their `;` as before', () => {
    expect(split('CREATE PROCEDURE p() SELECT 1; SELECT 2')).toEqual(['CREATE PROCEDURE p() SELECT 1', 'SELECT 2']);
    expect(split('CREATE FUNCTION f() RETURNS INT RETURN (SELECT 1); SELECT 2')).toEqual(['CREATE FUNCTION f() RETURNS INT RETURN (SELECT 1)', 'SELECT 2']);
    expect(split('BEGIN; DELETE FROM t WHERE id = 1; COMMIT')).toEqual(['BEGIN', 'DELETE FROM t WHERE id = 1', 'COMMIT']);
    expect(split('CREATE TABLE begin_t (id INT); SELECT 1')).toEqual(['CREATE TABLE begin_t (id INT)', 'SELECT 1']);
  });

  it.each([
    ['a body that is one IF', 'CREATE PROCEDURE p() IF 1 THEN SELECT 1; END IF'],
    ['a body that is one CASE', 'CREATE PROCEDURE p() CASE WHEN 1 THEN SELECT 1; END CASE'],
    ['a labelled LOOP', 'CREATE PROCEDURE p() l: LOOP LEAVE l; END LOOP l'],
    ['WHILE', 'CREATE PROCEDURE p() WHILE 0 DO SELECT 1; END WHILE'],
    ['REPEAT', 'CREATE PROCEDURE p() REPEAT SELECT 1; UNTIL 1 END REPEAT'],
    ['a function with characteristics', "CREATE FUNCTION f(x INT) RETURNS VARCHAR(10) CHARSET utf8mb4 DETERMINISTIC COMMENT 'c' READS SQL DATA BEGIN RETURN 'a'; END"],
    ['OR REPLACE … IF NOT EXISTS', 'CREATE OR REPLACE PROCEDURE p() BEGIN SELECT 1; END'],
    ['a DEFINER clause', "CREATE DEFINER='root'@'localhost' PROCEDURE p() BEGIN SELECT 1; END"],
    ['a trigger', 'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.v = 1; SET NEW.id = 2; END'],
    ['a trigger with FOLLOWS', 'CREATE TRIGGER tr2 AFTER UPDATE ON t FOR EACH ROW FOLLOWS tr BEGIN SELECT 1 INTO @x; END'],
    ['an event', 'CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN SELECT 1; END'],
    ['ALTER EVENT … DO', 'ALTER EVENT e DO BEGIN SELECT 1; END'],
    ['an empty block', 'CREATE PROCEDURE p() BEGIN END'],
  ])('%s', (_what, sql) => {
    expect(split(`${sql}; SELECT 'after'`)).toEqual([sql.replace(/\s+/g, ' '), "SELECT 'after'"]);
  });

  it.each([
    ['a string', "CREATE PROCEDURE p() BEGIN SELECT 'END; END IF; DELETE FROM t; END'; END"],
    ['a double-quoted string', 'CREATE PROCEDURE p() BEGIN SELECT "x; END"; END'],
    ['a backslash-escaped quote', "CREATE PROCEDURE p() BEGIN SELECT 'a\\'; END'; END"],
    ['a quoted name', 'CREATE PROCEDURE p() BEGIN SELECT 1 AS `END;`; END'],
    ['a -- comment', 'CREATE PROCEDURE p() BEGIN SELECT 1; -- END;\nSELECT 2; END'],
    ['a # comment', 'CREATE PROCEDURE p() BEGIN SELECT 1; # END IF;\nSELECT 2; END'],
    ['a /* */ comment', 'CREATE PROCEDURE p() BEGIN SELECT 1; /* END; */ SELECT 2; END'],
    ['END as a column name in a statement', 'CREATE PROCEDURE p() BEGIN SELECT end FROM t; SELECT 1 end; END'],
    ['CASE expressions in a statement and a condition', "CREATE PROCEDURE p() BEGIN SELECT CASE WHEN 1 THEN end END FROM t; IF CASE WHEN 1 THEN 2 END = 2 THEN SELECT 1; END IF; END"],
  ])('`;` and END inside %s do not end the body', (_what, sql) => {
    const s = split(`${sql}; SELECT 'after'`);
    expect(s).toHaveLength(2);
    expect(s[1]).toBe("SELECT 'after'");
  });

  it('reads a double-quoted name under ANSI_QUOTES', () => {
    expect(split('CREATE PROCEDURE p() BEGIN SELECT 1 AS "END;"; END; SELECT 2', { ansiQuotes: true })).toHaveLength(2);
  });

  it.each([
    ['END IF where END closes an IF', 'CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END; END'],
    ['END where END IF was due (IF never closed)', 'CREATE PROCEDURE p() IF 1 THEN SELECT 1; END'],
    ['END LOOP for a WHILE', 'CREATE PROCEDURE p() WHILE 1 DO SELECT 1; END LOOP'],
    ['words after the closing END', 'CREATE PROCEDURE p() BEGIN SELECT 1; END x y; SELECT 2'],
    ['no END at all', 'CREATE PROCEDURE p() BEGIN SELECT 1; DELETE FROM t'],
    ['END used as a name in a CASE expression of a condition', 'CREATE PROCEDURE p() BEGIN IF CASE WHEN 1 THEN end END THEN SELECT 1; END IF; END'],
    ['END used as a name in a REPEAT condition', 'CREATE PROCEDURE p() REPEAT SELECT 1; UNTIL end END REPEAT'],
    ['a MariaDB FOR loop', 'CREATE PROCEDURE p() FOR i IN 1..2 DO SELECT i; END FOR'],
    ['a label before IF', 'CREATE PROCEDURE p() BEGIN l: IF 1 THEN SELECT 1; END IF; END'],
    ['an empty statement', 'CREATE PROCEDURE p() BEGIN SELECT 1;; END'],
    ['an event with a compound body created inside a procedure body', 'CREATE PROCEDURE p() BEGIN CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; END; SELECT 1; END'],
    ['a label on BEGIN NOT ATOMIC (a syntax error on the server)', 'CREATE PROCEDURE p() BEGIN l: BEGIN NOT ATOMIC SELECT 1; END; END'],
  ])('refuses %s', (_what, sql) => {
    expect(refused(`${sql}; SELECT 'after'`)).toBeTruthy();
  });

  it('keeps the statements completed before a failure later in the text', () => {
    const r = lexMysql("CREATE PROCEDURE p() BEGIN SELECT 1; END; SELECT 'x", { server: SERVER });
    expect(r.ok).toBe(false);
    expect(r.statements.map((s) => s.text)).toEqual(['CREATE PROCEDURE p() BEGIN SELECT 1; END']);
    const open = lexMysql("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'x", { server: SERVER });
    expect(open.ok).toBe(false);
    expect(open.statements).toEqual([]);
  });

  it('stays linear: a body of 100,000 statements and an 8 MiB plain text', () => {
    const body = `CREATE PROCEDURE p() BEGIN ${'SELECT 1; '.repeat(100_000)}END; SELECT 2`;
    let t = performance.now();
    expect(split(body)).toHaveLength(2);
    expect(performance.now() - t).toBeLessThan(5_000);
    const plain = `SELECT '${'x'.repeat(8 * 1024 * 1024)}'; ${'SELECT 1; '.repeat(10_000)}`;
    t = performance.now();
    expect(lexMysql(plain, { server: SERVER }).statements).toHaveLength(10_001);
    expect(performance.now() - t).toBeLessThan(5_000);
    // a long statement whose first words only look like a routine's: its header is read from a prefix
    const lookalike = `CREATE TABLE event_log (event INT) COMMENT ${'abc, '.repeat(1_600_000)}1; SELECT 1`;
    t = performance.now();
    expect(lexMysql(lookalike, { server: SERVER }).statements).toHaveLength(2);
    expect(performance.now() - t).toBeLessThan(2_000);
  });
});

describe('what a compound body runs', () => {
  it('hands over every statement and expression, variables read as values, loops and handlers marked', () => {
    const [stmt] = split(NESTED);
    const body = routineCompoundBody(stmt!);
    expect(body).not.toBe('plain');
    expect(body).not.toBeNull();
    const texts = (body as Exclude<typeof body, 'plain' | null>).map((p) => `${p.repeated ? 'R ' : ''}${p.text.replace(/\s+/g, ' ')}`);
    expect(texts).toEqual([
      'SELECT 0',
      'SELECT 0',
      'SELECT id FROM t WHERE id > @i',
      'R SET @done = 1',
      'R ROLLBACK',
      'SELECT @i > 0',
      'SELECT 1',
      'SELECT @i < 0',
      'SELECT 2',
      'SELECT 3',
      'SELECT @i',
      'SELECT 1',
      'SELECT 4',
      'SELECT 2',
      'SELECT 5',
      'SELECT 6',
      'SELECT @i = 1',
      'SELECT 7',
      'R SELECT @done',
      'R SET @n = @n + 1',
      'R SELECT @n > 0',
      'R SET @n = @n - 1',
      'R SELECT @n = 3',
      'R SET @n = @n + 1',
      'R SELECT @n > 5',
      "SELECT CASE WHEN @n > 1 THEN 'a' ELSE 'b' END",
    ]);
  });

  it('keeps an INSERT column list and function calls named like a variable as they are', () => {
    const [stmt] = split('CREATE PROCEDURE p(id INT, v TEXT) BEGIN DECLARE count INT; INSERT INTO t (id, v) VALUES (id, v); SELECT COUNT(*) INTO count FROM t WHERE id = count; END');
    const body = routineCompoundBody(stmt!) as { text: string }[];
    expect(body.map((p) => p.text.replace(/\s+/g, ' '))).toEqual(['INSERT INTO t (id, v) VALUES (@id, @v)', 'SELECT COUNT(*) FROM t WHERE @id = @count']);
  });

  it('leaves INTO variable lists out and keeps INTO OUTFILE', () => {
    const [stmt] = split("CREATE PROCEDURE p() BEGIN DECLARE a, b INT; SELECT x, y INTO a, b FROM t WHERE id = 1; SELECT x FROM t INTO @g; SELECT x INTO OUTFILE '/tmp/f' FROM t; END");
    const body = routineCompoundBody(stmt!) as { text: string }[];
    expect(body.map((p) => p.text.replace(/\s+/g, ' '))).toEqual(['SELECT x, y FROM t WHERE id = 1', 'SELECT x FROM t', "SELECT x INTO OUTFILE '/tmp/f' FROM t"]);
  });

  it('does not read DEFINER routines, triggers, events or bodies it cannot read exactly', () => {
    for (const sql of [
      "CREATE DEFINER='root'@'localhost' PROCEDURE p() BEGIN SELECT 1; END",
      'CREATE AGGREGATE FUNCTION f(x INT) RETURNS INT BEGIN RETURN 1; END',
      'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.v = 1; END',
      'CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN SELECT 1; END',
    ]) {
      expect(routineCompoundBody(split(sql)[0]!), sql).toBeNull();
    }
    // statements the reader does not know inside a body: the whole text is refused already by the split
    expect(refused('CREATE PROCEDURE p() BEGIN OPEN c(1); END')).toMatch(/unexpected \(/);
    expect(refused("CREATE PROCEDURE p() BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = CONCAT('a', 'b'); END")).toMatch(/unexpected \(/);
    expect(routineCompoundBody('CREATE PROCEDURE p() SELECT 1')).toBe('plain');
  });
});

describe('any sequence of compound words', () => {
  const WORDS = ['CREATE', 'PROCEDURE', 'FUNCTION', 'p()', 'RETURNS INT', 'BEGIN', 'END', 'IF', 'THEN', 'ELSE', 'ELSEIF', 'CASE', 'WHEN',
    'LOOP', 'WHILE', 'DO', 'REPEAT', 'UNTIL', 'DECLARE', 'x', 'INT', 'DEFAULT', 'HANDLER', 'FOR', 'CONTINUE', 'CURSOR', 'SELECT',
    'DELETE FROM t', 'l:', ';', '(', ')', "'END;'", '1', 'NOT', 'ATOMIC', 'LEAVE', 'RETURN', 'SET', '=', 'OPEN', 'FETCH', 'INTO',
    'SIGNAL', 'SQLSTATE', 'TRIGGER', 'EVENT', 'ON', 'EACH', 'ROW', 'SCHEDULE',
    // well-formed pieces, so that many texts hold a complete body
    'SELECT 1;', 'IF 1 THEN', 'END IF;', 'BEGIN', 'END;', 'LOOP', 'END LOOP;', 'WHILE 1 DO', 'END WHILE;', 'END', 'END'];
  it('is split without throwing, and the body reader reads exactly the extent the split gave the CREATE', () => {
    let whole = 0;
    fc.assert(fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 40 }), (parts) => {
      const text = `CREATE PROCEDURE p() BEGIN ${parts.join(' ')}`;
      const r = lexMysql(text, { server: SERVER });
      for (const s of r.statements) {
        const body = routineCompoundBody(s.text);
        // the split and the reader are one parser: a compound CREATE the split ended is one the reader reads to its end
        if (s.text.startsWith('CREATE PROCEDURE p() BEGIN')) {
          whole++;
          expect(Array.isArray(body), s.text).toBe(true);
        }
      }
    }), { numRuns: 3000 });
    expect(whole).toBeGreaterThan(100);
  });
});
