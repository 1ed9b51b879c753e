import { init, parse } from '@guanmingchiu/sqlparser-ts';
import { readFileSync, readdirSync } from 'node:fs';
import { lexMysql } from './src/sql/mysql-lexer.js';
await init();
const seen = new Map<string, string>();
for (const f of readdirSync('bench/corpus/mysql')) for (const line of readFileSync('bench/corpus/mysql/' + f, 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('##')) continue;
  const r = lexMysql(line, { server: { mariadb: true, version: 101119 } });
  if (!r.ok) { console.log('LEXERR', r.error, line); continue; }
  for (const s of r.statements) {
    try { const a = parse(s.text, 'mysql') as any[]; const k = Object.keys(a[0])[0]; const sub = typeof a[0][k] === 'object' && a[0][k] ? Object.keys(a[0][k]).slice(0,6).join(',') : ''; console.log(k.padEnd(22), '|', sub.slice(0,70).padEnd(70), '|', s.text.slice(0, 70)); } catch {}
  }
}
