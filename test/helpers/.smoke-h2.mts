import mysql from 'mysql2/promise';
import { startMysqlTestBroker } from './mysql.js';
const b = await startMysqlTestBroker();
try {
  const g = await b.grant();
  const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my', debug: false });
  await c.ping();
  console.log('ping ok');
  await c.query('SET @x = 5');
  console.log('set ok');
  await c.reset();
  console.log('reset ok');
  console.log(await c.query('SELECT @x AS x'));
  await c.end();
} catch (e) { console.error('ERR', e); }
await b.close();
