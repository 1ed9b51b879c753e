// MariaDB fixtures every MySQL test relies on (database dbw_my, dbw_my_other, a read and a write role), created
// idempotently as root. Kept free of broker imports so vitest's global setup can create them before any test file
// runs: a test file must never depend on another having run first.
import mysql from 'mysql2/promise';

export const MY = { host: '127.0.0.1', port: 3306 };
export const MY_ROLES = {
  ro: { user: 'dbw_my_ro', password: 'dbw_my_ro_secret' },
  rw: { user: 'dbw_my_rw', password: 'dbw_my_rw_secret' },
} as const;

/** Runs SQL on the local MariaDB as root (fixtures, not through the broker). */
export async function myAdmin(sql: string, database?: string): Promise<unknown> {
  const c = await mysql.createConnection({ ...MY, user: 'root', database, multipleStatements: true });
  try {
    const [rows] = await c.query(sql);
    return rows;
  } finally {
    await c.end();
  }
}

let fixtures: Promise<void> | undefined;

/** Databases dbw_my and dbw_my_other, a read and a write role; safe to run again. */
export function ensureMysqlFixtures(): Promise<void> {
  fixtures ??= (async () => {
    const { ro, rw } = MY_ROLES;
    await myAdmin(`
      CREATE DATABASE IF NOT EXISTS dbw_my;
      CREATE DATABASE IF NOT EXISTS dbw_my_other;
      CREATE USER IF NOT EXISTS '${ro.user}'@'%' IDENTIFIED BY '${ro.password}';
      CREATE USER IF NOT EXISTS '${rw.user}'@'%' IDENTIFIED BY '${rw.password}';
      CREATE USER IF NOT EXISTS '${ro.user}'@'localhost' IDENTIFIED BY '${ro.password}';
      CREATE USER IF NOT EXISTS '${rw.user}'@'localhost' IDENTIFIED BY '${rw.password}';
      ALTER USER '${ro.user}'@'%' IDENTIFIED BY '${ro.password}';
      ALTER USER '${rw.user}'@'%' IDENTIFIED BY '${rw.password}';
      ALTER USER '${ro.user}'@'localhost' IDENTIFIED BY '${ro.password}';
      ALTER USER '${rw.user}'@'localhost' IDENTIFIED BY '${rw.password}';
      GRANT SELECT ON dbw_my.* TO '${ro.user}'@'%';
      GRANT SELECT ON dbw_my.* TO '${ro.user}'@'localhost';
      GRANT ALL ON dbw_my.* TO '${rw.user}'@'%';
      GRANT ALL ON dbw_my.* TO '${rw.user}'@'localhost';
      GRANT ALL ON dbw_my_other.* TO '${rw.user}'@'%';
      GRANT ALL ON dbw_my_other.* TO '${rw.user}'@'localhost';
    `);
  })();
  return fixtures;
}

