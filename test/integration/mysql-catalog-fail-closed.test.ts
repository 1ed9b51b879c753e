// The MySQL read-grant function check when its catalog cannot be read again (real MariaDB): a re-check that fails
// must not leave decisions trusting stored-function entries read before (a routine may have been replaced since).
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlCatalog } from '../../src/mysql/catalog.js';

const USER = 'dbw_catfail';
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`DROP USER IF EXISTS '${USER}'@'%'`);
  await admin.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY 'right-pw'`);
  await admin.query(`GRANT SELECT, SHOW VIEW ON *.* TO '${USER}'@'%'`);
});

afterAll(async () => {
  await admin.query(`DROP USER IF EXISTS '${USER}'@'%'`);
  await admin.end();
});

describe('MySQL catalog re-check that cannot be read', () => {
  it('drops the stored-function entries (every stored function then counts as writing) and takes them back on a good read', async () => {
    const catalog = new MysqlCatalog({ host: '127.0.0.1', port: 3306, user: USER, password: 'right-pw', tls: 'disable' });
    await catalog.freshOrNothing();
    expect(catalog.functions).not.toBeNull();
    // the side connection can no longer log in: the re-check fails
    await admin.query(`ALTER USER '${USER}'@'%' IDENTIFIED BY 'changed-pw'`);
    await catalog.freshOrNothing();
    expect(catalog.functions).toBeNull();
    await admin.query(`ALTER USER '${USER}'@'%' IDENTIFIED BY 'right-pw'`);
    await catalog.freshOrNothing();
    expect(catalog.functions).not.toBeNull();
  });
});
