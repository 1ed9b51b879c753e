import { checkSql } from './src/rules/check.js';
const opts = process.env.OPTS ? JSON.parse(process.env.OPTS) : undefined;
for (const q of process.argv.slice(2)) {
  const r = checkSql({ sql: q, dialect: 'mysql', access: (process.env.ACCESS as any) ?? 'read', rulesDir: 'rules', readOptions: opts });
  console.log(r.action.padEnd(5), (r.rules.map((x) => x.id).join(',') || '-').padEnd(30), q.slice(0, 70));
  if (process.env.V) for (const f of r.statements) console.log('     ', JSON.stringify(f));
}
