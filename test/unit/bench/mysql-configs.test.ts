// The broker configuration and the SQL the MySQL benchmark generates, and its sysbench argument lists.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MYSQL_TARGET, mysqlBrokerConfig } from '../../../bench/lib/mysql-broker.js';
import { roleSql, sysbenchConnArgs, sysbenchTableArgs } from '../../../bench/lib/mysql-dataset.js';
import { parseConfig } from '../../../src/config/load.js';

const SHA = 'b'.repeat(64);
const upstream = { host: '127.0.0.1', port: 3306, database: 'dbw_sysbench', user: 'dbw_sysbench_ro', password: 'secret-pw' };

describe('mysqlBrokerConfig', () => {
  const obj = mysqlBrokerConfig({ repoDir: resolve('.'), workDir: '/tmp/dbw-mysql-bench-x', upstream, rulesets: ['safe-defaults'] }, { mysql: 13306, admin: 13080 }, SHA);

  it('is valid under the broker schema: MySQL listener only, plaintext, a read role from the environment', () => {
    const c = parseConfig(stringify(obj), '/tmp/dbw-mysql-bench-x/dbwarden-mysql.yaml', { DBW_BENCH_MYSQL_PASSWORD: 'from-env' });
    expect(c.listen.mysql).toBe('127.0.0.1:13306');
    expect(c.listen.postgres).toBeUndefined();
    expect(c.listen.admin).toBe('127.0.0.1:13080');
    expect(c.tls.clients).toBe('disable');
    const t = c.targets[MYSQL_TARGET]!;
    expect(t.protocol).toBe('mysql');
    expect(t.port).toBe(3306);
    expect(t.tls).toBe('disable');
    expect(t.databases).toEqual(['dbw_sysbench']);
    expect(t.rulesets).toEqual(['safe-defaults']);
    expect(t.roles.read).toEqual({ user: 'dbw_sysbench_ro', password: 'from-env' });
    expect(t.roles.write).toBeUndefined();
    expect(c.access).toHaveLength(1);
    expect(c.access[0]!.access).toEqual(['read']);
    expect(c.access[0]!.approvals).toBe(0);
  });

  it('does not write the upstream password into the file', () => {
    expect(stringify(obj)).not.toContain('secret-pw');
    expect(() => parseConfig(stringify(obj), '/tmp/x.yaml', {})).toThrow(/DBW_BENCH_MYSQL_PASSWORD is not set/);
  });
});

describe('roleSql', () => {
  const o = { database: 'dbw_sysbench', role: { user: 'dbw_sysbench_ro', password: "it's\\pw" } };

  it('creates and resets the role for % and localhost with mysql_native_password and SELECT only (MariaDB)', () => {
    const sql = roleSql(o, 'mariadb');
    for (const host of ['%', 'localhost']) {
      expect(sql).toContain(`CREATE USER IF NOT EXISTS 'dbw_sysbench_ro'@'${host}' IDENTIFIED VIA mysql_native_password USING PASSWORD('it''s\\\\pw');`);
      expect(sql).toContain(`ALTER USER 'dbw_sysbench_ro'@'${host}' IDENTIFIED VIA mysql_native_password USING PASSWORD('it''s\\\\pw');`);
      expect(sql).toContain(`GRANT SELECT ON \`dbw_sysbench\`.* TO 'dbw_sysbench_ro'@'${host}';`);
    }
    expect(sql).not.toMatch(/GRANT (ALL|INSERT|UPDATE|DELETE)/);
  });

  it('uses MySQL 8 syntax for MySQL', () => {
    expect(roleSql(o, 'mysql')).toContain("IDENTIFIED WITH mysql_native_password BY 'it''s\\\\pw'");
  });
});

describe('sysbench arguments', () => {
  it('name the data set and the connection; no password option without a password', () => {
    expect(sysbenchTableArgs({ tables: 4, tableSize: 10000 })).toEqual(['--tables=4', '--table-size=10000']);
    expect(sysbenchConnArgs({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_sysbench' })).toEqual([
      '--db-driver=mysql', '--mysql-host=127.0.0.1', '--mysql-port=3306', '--mysql-user=root', '--mysql-db=dbw_sysbench',
    ]);
    expect(sysbenchConnArgs({ host: 'h', port: 1, user: 'u', password: 'p', database: 'd' })).toContain('--mysql-password=p');
  });
});
