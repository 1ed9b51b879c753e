// MariaDB views, stored functions and column renames under masking (issue 11): each path first shown to return the
// masked value in clear on a direct connection, then masked or refused through a live broker (mysql2 text and
// binary protocol). With a `catalog` role view definitions are traced per column; without one (the read role may
// not see definitions) a view is masked entirely (fail closed).
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY_ROLES, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const S = `lv_${randomBytes(4).toString('hex')}`;
const T = `${S}_users`;
const MARK = `q${randomBytes(3).toString('hex')}x`;
const SECRET = `zed.${MARK}@secret.example`;
const V1 = `${S}_v1`; // renames email to contact
const V2 = `${S}_v2`; // a view over V1 renaming again
const V3 = `${S}_v3`; // a derived table renaming inside the definition
const F = `${S}_f`; // a stored function returning the masked column
const SINK = `${S}_sink`;
const P = `${S}_p`; // a stored procedure returning an expression over the masked column
let withCatalog: MysqlTestBroker;
let without: MysqlTestBroker;

beforeAll(async () => {
  await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(100)) DEFAULT CHARSET utf8mb4;
    INSERT INTO ${T} VALUES (1, 'Zed', '${SECRET}');
    CREATE TABLE ${SINK} (id INT PRIMARY KEY, note VARCHAR(100));
    CREATE VIEW ${V1} AS SELECT id, name, email AS contact FROM ${T};
    CREATE VIEW ${V2} AS SELECT id, contact AS c2 FROM ${V1};
    CREATE VIEW ${V3} AS SELECT x FROM (SELECT email AS x FROM ${T}) d;
    CREATE FUNCTION ${F}(i INT) RETURNS VARCHAR(100) READS SQL DATA SQL SECURITY INVOKER RETURN (SELECT email FROM ${T} WHERE id = i);
    CREATE PROCEDURE ${P}() SELECT CONCAT(email, '') AS c FROM ${T};
    GRANT EXECUTE ON PROCEDURE dbw_my.${P} TO '${MY_ROLES.ro.user}'@'%';
    GRANT EXECUTE ON PROCEDURE dbw_my.${P} TO '${MY_ROLES.ro.user}'@'localhost';
    GRANT EXECUTE ON FUNCTION dbw_my.${F} TO '${MY_ROLES.ro.user}'@'%';
    GRANT EXECUTE ON FUNCTION dbw_my.${F} TO '${MY_ROLES.ro.user}'@'localhost';`, 'dbw_my');
  withCatalog = await startMysqlTestBroker({}, { rulesets: ['safe-defaults', 'pii-masking'], roles: { read: MY_ROLES.ro, write: MY_ROLES.rw, admin: { user: 'root' }, catalog: { user: 'root' } } });
  without = await startMysqlTestBroker({}, { rulesets: ['safe-defaults', 'pii-masking'] });
}, 60_000);
afterAll(async () => {
  await withCatalog?.close();
  await without?.close();
  await myAdmin(`DROP VIEW IF EXISTS ${V2}, ${V1}, ${V3}; DROP FUNCTION IF EXISTS ${F}; DROP PROCEDURE IF EXISTS ${P}; DROP TABLE IF EXISTS ${T}, ${SINK}`, 'dbw_my');
});

async function via(b: MysqlTestBroker, sql: string, opts: { binary?: boolean; access?: 'read' | 'write' } = {}): Promise<unknown> {
  const g = await b.grant({ access: opts.access ?? 'read' });
  const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });
  try {
    const [rows] = opts.binary ? await c.execute(sql) : await c.query(sql);
    return rows;
  } catch (e) {
    return e;
  } finally {
    await c.end();
  }
}
const leaks = (x: unknown) => JSON.stringify(x instanceof Error ? { m: x.message } : x).includes(MARK);

const READS: Array<[string, string]> = [
  ['a view column renaming a masked column', `SELECT contact FROM ${V1}`],
  ['an expression over the renamed view column', `SELECT CONCAT(contact, '') AS c FROM ${V1}`],
  ['a view over a view', `SELECT c2 FROM ${V2}`],
  ['SELECT * from the view over a view', `SELECT * FROM ${V2}`],
  ['a view renaming inside a derived table', `SELECT x FROM ${V3}`],
  ['a stored function returning the masked column', `SELECT ${F}(1) AS v`],
  ['a stored function in an expression', `SELECT LOWER(${F}(id)) AS v FROM ${T}`],
];

describe('MariaDB views and stored functions are masked by what they read', () => {
  for (const [what, sql] of READS) {
    it(`${what}: clear directly, masked through the broker (text and binary)`, async () => {
      expect(leaks(await myAdmin(sql, 'dbw_my'))).toBe(true);
      for (const b of [withCatalog, without]) {
        for (const binary of [false, true]) {
          const r = await via(b, sql, { binary });
          // without a catalog role the read role cannot see view definitions or function bodies: a read grant
          // refuses the read, since it may run code that writes (rules/README "Calls to user functions on read
          // grants"); a write grant reads it, masked whole
          if (b === without) {
            expect(String(r), `${sql} binary=${binary}`).toMatch(/blocked by rule read-only-writes: .*(may write|cannot be read)/);
            const w = await via(b, sql, { binary, access: 'write' });
            expect(w, `${sql} binary=${binary} (write grant)`).not.toBeInstanceOf(Error);
            expect(leaks(w), `${sql} binary=${binary} (write grant)`).toBe(false);
            continue;
          }
          expect(r, `${sql} binary=${binary}`).not.toBeInstanceOf(Error);
          expect(leaks(r), `${sql} binary=${binary}`).toBe(false);
        }
      }
    });
  }

  it('a stored procedure returning an expression over the masked column (CALL on a write grant): masked', async () => {
    const sql = `CALL ${P}()`;
    expect(leaks(await myAdmin(sql, 'dbw_my'))).toBe(true);
    for (const binary of [false, true]) {
      const r = await via(withCatalog, sql, { binary, access: 'write' });
      expect(r, `binary=${binary}`).not.toBeInstanceOf(Error);
      expect(JSON.stringify(r)).toMatch(/"c"/);
      expect(leaks(r), `binary=${binary}`).toBe(false);
    }
  });

  it('with a catalog role, a clean column of the same view is not masked', async () => {
    const r = (await via(withCatalog, `SELECT id, name, contact FROM ${V1}`)) as Array<Record<string, unknown>>;
    expect(r[0]!.id).toBe(1);
    expect(r[0]!.name).toBe('Zed');
    expect(String(r[0]!.contact)).not.toContain(MARK);
  });

  it('a view created after the catalog snapshot was read is masked at once, then traced once the snapshot catches up', async () => {
    const late = `${S}_late${randomBytes(2).toString('hex')}`;
    // the snapshot is loaded (and fresh) before the view exists
    expect(leaks(await via(withCatalog, `SELECT contact FROM ${V1}`))).toBe(false);
    await myAdmin(`CREATE VIEW ${late} AS SELECT id, name, email AS handle FROM ${T}`, 'dbw_my');
    try {
      expect(leaks(await myAdmin(`SELECT handle FROM ${late}`, 'dbw_my'))).toBe(true);
      for (const binary of [false, true]) {
        const r = await via(withCatalog, `SELECT handle FROM ${late}`, { binary });
        expect(r, `binary=${binary}`).not.toBeInstanceOf(Error);
        expect(leaks(r), `binary=${binary}`).toBe(false);
      }
      // a copy out of the unknown view is refused like a copy of the masked column
      const copy = await via(withCatalog, `INSERT INTO ${SINK} (id, note) SELECT id, handle FROM ${late}`, { access: 'write' });
      expect(copy).toBeInstanceOf(Error);
      // once a fresh snapshot is read (a miss asks for one), the clean column of the new view is no longer masked
      let name: unknown;
      for (let i = 0; i < 40 && name !== 'Zed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const r = (await via(withCatalog, `SELECT id, name, handle FROM ${late}`)) as Array<Record<string, unknown>>;
        expect(leaks(r)).toBe(false);
        name = r[0]?.name;
      }
      expect(name).toBe('Zed');
    } finally {
      await myAdmin(`DROP VIEW IF EXISTS ${late}`, 'dbw_my');
    }
  });

  it('without a catalog role: the read grant is refused the view; the write role sees its definition and traces it', async () => {
    expect(String(await via(without, `SELECT name FROM ${V1}`))).toMatch(/read-only-writes: .*definition cannot be read/);
    const r = (await via(without, `SELECT name, contact FROM ${V1}`, { access: 'write' })) as Array<Record<string, unknown>>;
    expect(r[0]!.name).toBe('Zed');
    expect(leaks(r)).toBe(false);
  });

  it('copying a renamed masked column out of a view is refused (mask-or-block)', async () => {
    const e = await via(withCatalog, `INSERT INTO ${SINK} SELECT id, contact FROM ${V1}`, { access: 'write' });
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/blocked by rule mask-email/);
    expect(leaks(await myAdmin(`SELECT * FROM ${SINK}`, 'dbw_my'))).toBe(false);
  });
});

describe('MariaDB DDL renaming a masked column is refused on grants with masks', () => {
  const DDL: Array<[string, string]> = [
    ['CHANGE', `ALTER TABLE ${T} CHANGE email contact VARCHAR(100)`],
    ['CHANGE COLUMN with a comment in between', `ALTER TABLE ${T} CHANGE COLUMN /* x */ \`email\` contact VARCHAR(100)`],
    ['RENAME COLUMN', `ALTER TABLE ${T} RENAME COLUMN email TO contact`],
    ['a generated column over the masked column', `ALTER TABLE ${T} ADD COLUMN e2 VARCHAR(100) AS (CONCAT(email, ''))`],
    ['MODIFY … AS over the masked column', `ALTER TABLE ${T} MODIFY name VARCHAR(100) AS (email)`],
  ];
  for (const [what, sql] of DDL) {
    it(`${what}: refused`, async () => {
      const e = await via(withCatalog, sql, { access: 'write' });
      expect(e, sql).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/dbwarden: blocked by rule mask-email/);
    });
  }
  it('renaming a clean column still runs', async () => {
    const r = await via(withCatalog, `ALTER TABLE ${SINK} CHANGE note note2 VARCHAR(100)`, { access: 'write' });
    expect(r).not.toBeInstanceOf(Error);
  });
  it('the masked column kept its name (nothing above ran)', async () => {
    const cols = (await myAdmin(`SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dbw_my' AND TABLE_NAME = '${T}'`, 'dbw_my')) as unknown;
    expect(JSON.stringify(cols)).toContain('email');
    expect(JSON.stringify(cols)).not.toContain('e2');
  });
});
