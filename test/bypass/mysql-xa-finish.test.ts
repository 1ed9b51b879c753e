// Doors2 (MariaDB): a read grant finishing another session's prepared XA transaction. A prepared XA transaction
// outlives its connection and MariaDB lets any account XA COMMIT / XA ROLLBACK it by its xid (XA RECOVER lists
// them), so a SELECT-only account commits, or throws away, rows another session wrote. Proven on the real server
// first (the SELECT-only role commits the prepared insert), then through a live broker: a read grant's XA COMMIT and
// XA ROLLBACK are refused as writes (src/sql/mysql-fallback.ts) and the transaction stays prepared.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, MY_ROLES, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const P = `xa_${randomBytes(4).toString('hex')}`;
const T = `dbw_my.${P}_t`;

/** Prepares an XA transaction inserting `id` on its own connection, then disconnects (the transaction stays). */
async function prepareInsert(xid: string, id: number): Promise<void> {
  const c = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my' });
  try {
    await c.query(`XA START '${xid}'`);
    await c.query(`INSERT INTO ${T} VALUES (${id})`);
    await c.query(`XA END '${xid}'`);
    await c.query(`XA PREPARE '${xid}'`);
  } finally {
    await c.end();
  }
}

const prepared = async (xid: string): Promise<boolean> =>
  ((await myAdmin('XA RECOVER')) as { data: string }[]).some((r) => String(r.data) === xid);
const ids = async (): Promise<number[]> => ((await myAdmin(`SELECT id FROM ${T} ORDER BY id`)) as { id: number }[]).map((r) => r.id);

describe('read grants and prepared XA transactions of other sessions (MariaDB)', () => {
  let b: MysqlTestBroker;
  let reader: mysql.Connection;

  beforeAll(async () => {
    b = await startMysqlTestBroker();
    await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY) ENGINE=InnoDB; GRANT SELECT ON ${T} TO dbw_my_ro`, 'dbw_my');
    const cred = await b.grant({ access: 'read', who: 'alice', databases: ['dbw_my'] });
    reader = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
  });
  afterAll(async () => {
    await reader?.end().catch(() => undefined);
    await b?.close();
    for (const x of [`${P}_1`, `${P}_2`, `${P}_3`]) await myAdmin(`XA ROLLBACK '${x}'`).catch(() => undefined);
    await myAdmin(`DROP TABLE IF EXISTS ${T}`).catch(() => undefined);
  });

  it('on the real server: a SELECT-only account commits the prepared insert of another session', async () => {
    await prepareInsert(`${P}_1`, 1);
    const direct = await mysql.createConnection({ ...MY, ...MY_ROLES.ro, database: 'dbw_my' });
    try {
      await expect(direct.query(`INSERT INTO ${T} VALUES (99)`)).rejects.toThrow(/denied/);
      await direct.query(`XA COMMIT '${P}_1'`);
    } finally {
      await direct.end();
    }
    expect(await ids()).toEqual([1]);
    expect(await prepared(`${P}_1`)).toBe(false);
  });

  for (const [n, verb] of [[2, 'COMMIT'], [3, 'ROLLBACK']] as const) {
    it(`a read grant's XA ${verb} of it is refused and the transaction stays prepared`, async () => {
      await prepareInsert(`${P}_${n}`, n);
      const err = await reader.query(`XA ${verb} '${P}_${n}'`).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes/);
      expect(await prepared(`${P}_${n}`)).toBe(true);
      expect(await ids()).toEqual([1]);
    });
  }

  it('a read grant still lists prepared transactions (XA RECOVER reads)', async () => {
    const [rows] = await reader.query('XA RECOVER');
    expect((rows as { data: string }[]).map((r) => String(r.data))).toEqual(expect.arrayContaining([`${P}_2`, `${P}_3`]));
  });
});
