import { initSql, analyze } from './src/sql/analyze.js';
await initSql();
for (const q of process.argv.slice(2)) console.log(q, '\n ', JSON.stringify(analyze('postgres', q)));
