import { init, parse } from '@guanmingchiu/sqlparser-ts';
await init();
for (const q of process.argv.slice(2)) {
  try { console.log(q, '\n→', JSON.stringify(parse(q, 'mysql'), (k,v)=> (k==='span'||k==='select_token'||k==='insert_token'||k==='update_token'||k==='delete_token')?undefined:v)); } catch (e) { console.log(q, '→ ERR', (e as Error).message.slice(0, 200)); }
}
