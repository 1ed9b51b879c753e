import mysql from 'mysql2/promise';
const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true });
for (const q of process.argv.slice(2)) {
  try { const [r] = await c.query({ sql: q, rowsAsArray: true }); console.log(JSON.stringify(q), '→', JSON.stringify(r)); }
  catch (e) { console.log(JSON.stringify(q), '→ ERR', e.errno, e.message.slice(0, 120)); }
}
await c.end();
