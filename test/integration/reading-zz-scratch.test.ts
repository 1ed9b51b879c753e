import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const T = `dbw_ar_${randomBytes(4).toString('hex')}`;
let b: MysqlTestBroker;
let write: Awaited<ReturnType<MysqlTestBroker['grant']>>;
const viaBroker = () => mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: write.login, password: write.password, database: 'dbw_my', multipleStatements: true });
const refill = () => myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}; CREATE TABLE dbw_my.${T} (id INT PRIMARY KEY, v TEXT); INSERT INTO dbw_my.${T} VALUES (1,'a'),(2,'b'),(3,'c'); GRANT ALL ON dbw_my.${T} TO dbw_my_rw`);
async function rows(): Promise<number> { const r = (await myAdmin(`SELECT COUNT(*) AS n FROM dbw_my.${T}`)) as { n: number }[]; return Number(r[0]!.n); }
beforeAll(async () => { b = await startMysqlTestBroker(); write = await b.grant({ access: 'write' }); });
afterAll(async () => { await myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}`).catch(() => undefined); await b?.close(); });
const P = "'SET sql_mode=''ANSI_QUOTES'''";
const cases: [string, (c: mysql.Connection) => Promise<unknown>][] = [
  ['text PREPARE/EXECUTE', async (c) => { await c.query(`PREPARE s FROM ${P}`); await c.query('EXECUTE s'); }],
  ['text PREPARE then EXECUTE later', async (c) => { await c.query(`PREPARE s FROM ${P}`); await c.query('SELECT 1'); await c.query('EXECUTE s'); }],
  ['EXECUTE IMMEDIATE', async (c) => { await c.query(`EXECUTE IMMEDIATE ${P}`); }],
  ['stmt PREPARE (text) + text EXECUTE', async (c) => { await c.execute(`PREPARE s FROM ${P}`); await c.query('EXECUTE s'); }],
  ['text PREPARE + stmt EXECUTE s', async (c) => { await c.query(`PREPARE s FROM ${P}`); await c.execute('EXECUTE s'); }],
  ['stmt EXECUTE IMMEDIATE', async (c) => { await c.execute(`EXECUTE IMMEDIATE ${P}`); }],
  ['PREPARE in multi then EXECUTE', async (c) => { await c.query(`DO 1; PREPARE s FROM ${P}`); await c.query('EXECUTE s'); }],
  ['re-PREPARE same name', async (c) => { await c.query(`PREPARE s FROM 'SELECT 1'`); await c.execute(`PREPARE s FROM ${P}`); await c.query('EXECUTE s'); }],
  ['SET STATEMENT FOR EXECUTE', async (c) => { await c.query(`PREPARE s FROM ${P}`); await c.query('SET STATEMENT max_statement_time=10 FOR EXECUTE s'); }],
];
describe('scratch', () => {
  it('X', { timeout: 120000 }, async () => {
    for (const [name, f] of cases) {
      await refill();
      const c = await viaBroker();
      c.on('error', () => undefined);
      const r0 = await f(c).then(() => 'ok', (e) => `err ${e.message.slice(0, 80)}`);
      const [[m]] = (await c.query('SELECT @@sql_mode AS m')) as any;
      const r1 = await c.query(`DELETE FROM ${T} WHERE v = "v"`).then(() => 'RAN', (e) => `err ${e.message.slice(0, 50)}`);
      const n = await rows();
      console.log(n < 3 ? 'HARM' : 'ok  ', name, '|', r0, '|', m.m.includes('ANSI_QUOTES'), '|', r1, n);
      c.destroy();
    }
  });
});
