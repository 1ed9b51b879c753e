import pg from 'pg';
import { afterAll, beforeAll, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';
let b: TestBroker;
let read: Awaited<ReturnType<TestBroker['grant']>>;
let write: Awaited<ReturnType<TestBroker['grant']>>;
const SECRET = 'alice.secret@example.org';
beforeAll(async () => {
  await adminSql(`drop table if exists probe_users cascade;
    create table probe_users (id int primary key, name text, email text unique);
    insert into probe_users values (1, 'Alice', '${SECRET}');
    alter table probe_users owner to dbw_rw; grant select on probe_users to dbw_ro;`);
  const targets = { app: { protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['dbw_app'], tls: 'disable', rulesets: ['safe-defaults', 'pii-masking'],
    roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: 'dbw_rw', password: 'dbw_rw_secret' } } } };
  b = await startTestBroker({ targets, access: [{ name: 'read', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 }, { name: 'write', requesters: ['*'], access: ['write'], maxTtl: '2h', approvals: 0 }] });
  read = await b.grant({ access: 'read' });
  write = await b.grant({ access: 'write' });
});
afterAll(async () => { await b?.close(); });
const PROBES: [string, string[]][] = (JSON.parse(process.env.PROBES ?? '[]'));
it('probes', async () => {
  for (const [access, stmts] of PROBES) {
    const c = new pg.Client({ connectionString: b.url(access === 'write' ? write : read) });
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(`${n.message} ${n.detail ?? ''} ${n.where ?? ''}`));
    c.on('error', () => undefined);
    await c.connect();
    for (const q of stmts) {
      notices.length = 0;
      let out: string;
      try { const r = await c.query(q); out = JSON.stringify((Array.isArray(r) ? r.at(-1) : r).rows); } catch (e) { const er = e as pg.DatabaseError; out = `ERR ${er.code} ${er.message} ${er.detail ?? ''} ${er.where ?? ''}`; }
      const all = out + ' ' + notices.join(' | ');
      console.log(`${all.includes('alice.secret') || all.includes('ecret@') ? 'LEAK' : 'ok  '} [${access}] ${q.slice(0, 110)} => ${all.slice(0, 200)}`);
    }
    await c.end().catch(() => undefined);
  }
}, 120000);
