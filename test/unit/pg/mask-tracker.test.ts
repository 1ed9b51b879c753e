// PostgreSQL MaskTracker without sockets: client messages in, upstream messages in, rewritten rows out. The
// column catalog is a table of the test's own (the tracker's ColumnOrigins), not a database: the real catalog
// path is covered by the masking integration tests.
import { describe, expect, it } from 'vitest';
import { BackendCode } from '../../../src/pg/codes.js';
import { MaskTracker, type ColumnOrigins, type Plan } from '../../../src/pg/mask-tracker.js';
import type { ColumnMask } from '../../../src/session/verdict.js';

const key = Buffer.alloc(32, 7);
const TEXT = 25;
const INT4 = 23;
const MASKS: ColumnMask[] = [
  { ruleId: 'pii-email', mask: 'redact', columns: ['*.users.email'] },
  { ruleId: 'pii-card', mask: 'partial', columns: ['*.users.card'] },
];

/** Relations by OID: attnum → column name (and what a view column reads). `loadable`: what load() may still add. */
class FakeCatalog implements ColumnOrigins {
  readonly loads: number[][] = [];
  constructor(
    private readonly known: Map<number, Map<number, { name: string; sources?: string[] }>>,
    private readonly loadable = new Map<number, Map<number, { name: string; sources?: string[] }>>(),
  ) {}
  resolve(oid: number, attnum: number) {
    const rel = this.known.get(oid);
    return rel ? rel.get(attnum) ?? { name: `unknown.${oid}.${attnum}` } : undefined;
  }
  missing(oids: number[]): number[] {
    return oids.filter((o) => o !== 0 && !this.known.has(o));
  }
  async load(oids: number[]): Promise<void> {
    this.loads.push(oids);
    for (const o of oids) {
      const rel = this.loadable.get(o);
      if (rel) this.known.set(o, rel);
    }
  }
}

const USERS = 16400;
const VIEW = 16500;
const NEW_TABLE = 16600;
const users = () => new Map([[1, { name: 'public.users.id' }], [2, { name: 'public.users.email' }], [3, { name: 'public.users.card' }]]);
const catalog = () => new FakeCatalog(new Map([
  [USERS, users()],
  [VIEW, new Map([[1, { name: 'public.contacts.contact', sources: ['public.users.email'] }]])],
]), new Map([[NEW_TABLE, new Map([[1, { name: 'public.users.email' }]])]]));

// ---- message bodies as they lie on the wire ----

const cstr = (s: string) => Buffer.from(s + '\0');
const i16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };

function rowDescription(fields: [name: string, tableOid: number, attnum: number, typeOid: number][]): Buffer {
  return Buffer.concat([i16(fields.length), ...fields.flatMap(([n, oid, att, type]) => [cstr(n), i32(oid), i16(att), i32(type), i16(-1), i32(-1), i16(0)])]);
}
function dataRow(values: (string | null)[]): Buffer {
  return Buffer.concat([i16(values.length), ...values.flatMap((v) => (v === null ? [i32(-1)] : [i32(Buffer.byteLength(v)), Buffer.from(v)]))]);
}
/** The values of a DataRow message (type byte and length first). */
function values(msg: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0, off = 7, n = msg.readInt16BE(5); i < n; i++) {
    const len = msg.readInt32BE(off);
    off += 4;
    out.push(len < 0 ? null : msg.toString('utf8', off, off + len));
    off += Math.max(len, 0);
  }
  return out;
}
const bind = (portal: string, stmt: string) => Buffer.concat([cstr(portal), cstr(stmt), i16(0), i16(0), i16(0)]);
const describeMsg = (what: 'S' | 'P', name: string) => Buffer.concat([Buffer.from(what), cstr(name)]);
const execute = (portal: string) => Buffer.concat([cstr(portal), i32(0)]);
const ready = Buffer.from('I');
const EMPTY = Buffer.alloc(0);

const USER_ROW = rowDescription([['id', USERS, 1, INT4], ['email', USERS, 2, TEXT], ['card', USERS, 3, TEXT]]);
const ALICE = dataRow(['1', 'alice@example.com', '4111111111111111']);
const MASKED_ALICE = ['1', '[redacted]', '************1111'];

function tracker(cat = catalog(), viewMask?: (c: string) => 'redact' | null | undefined) {
  const statuses: string[] = [];
  const t = new MaskTracker(MASKS, cat, key, 'null', viewMask, (s) => statuses.push(s));
  /** the upstream message as the client gets it: the rewritten bytes, or null for the same bytes */
  const up = (code: number, body: Buffer) => t.upstream(code, body).out;
  return { t, up, statuses };
}

describe('MaskTracker: simple query', () => {
  it('masks the columns of a masked table in DataRows; the rest passes as the same bytes', () => {
    const { t, up, statuses } = tracker();
    t.onQuery(null);
    expect(up(BackendCode.RowDescription, USER_ROW)).toBeNull();
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual(MASKED_ALICE);
    expect(up(BackendCode.CommandComplete, cstr('SELECT 1'))).toBeNull();
    expect(up(BackendCode.ReadyForQuery, ready)).toBeNull();
    expect(statuses).toEqual(['I']);
  });

  it('a result without masked columns passes untouched', () => {
    const { t, up } = tracker();
    t.onQuery(null);
    up(BackendCode.RowDescription, rowDescription([['id', USERS, 1, INT4]]));
    expect(up(BackendCode.DataRow, dataRow(['1']))).toBeNull();
  });

  it.each<[string, Plan, (string | null)[]]>([
    ['an expression of a statement reading a masked column gets the derived mask', { outputs: null, derived: 'redact' }, ['[redacted]']],
    ['the per-column plan from lineage', { outputs: ['partial'], derived: 'redact' }, ['*************.com']],
    ['no masked read: the expression passes', { outputs: null, derived: null }, ['alice@example.com']],
  ])('%s', (_name, plan, want) => {
    const { t, up } = tracker();
    t.onQuery(plan);
    up(BackendCode.RowDescription, rowDescription([['lower', 0, 0, TEXT]]));
    const out = up(BackendCode.DataRow, dataRow(['alice@example.com']));
    expect(out === null ? ['alice@example.com'] : values(out)).toEqual(want);
  });

  it('a plan whose length does not match the row description masks every planned position with the fallback', () => {
    const { t, up } = tracker();
    t.onQuery({ outputs: ['redact', null], derived: 'redact' });
    up(BackendCode.RowDescription, rowDescription([['a', 0, 0, TEXT]]));
    expect(values(up(BackendCode.DataRow, dataRow(['x']))!)).toEqual([null]);
  });

  it('a view column masks what it reads: lineage first, else every base column the catalog lists', () => {
    const traced = tracker(catalog(), (c) => (c === 'public.contacts.contact' ? 'redact' : undefined));
    traced.t.onQuery(null);
    traced.up(BackendCode.RowDescription, rowDescription([['contact', VIEW, 1, TEXT]]));
    expect(values(traced.up(BackendCode.DataRow, dataRow(['a@b.c']))!)).toEqual(['[redacted]']);
    const listed = tracker();
    listed.t.onQuery(null);
    listed.up(BackendCode.RowDescription, rowDescription([['contact', VIEW, 1, TEXT]]));
    expect(values(listed.up(BackendCode.DataRow, dataRow(['a@b.c']))!)).toEqual(['[redacted]']);
  });

  it('a relation the catalog has not seen is loaded before the row description is used', async () => {
    const cat = catalog();
    const { t } = tracker(cat);
    t.onQuery(null);
    const action = t.upstream(BackendCode.RowDescription, rowDescription([['e', NEW_TABLE, 1, TEXT]]));
    expect(action.out).toBeNull();
    expect(cat.loads).toEqual([[NEW_TABLE]]);
    await action.wait;
    expect(values(t.upstream(BackendCode.DataRow, dataRow(['x@y.z'])).out!)).toEqual(['[redacted]']);
  });

  it('an origin the catalog cannot name after loading is masked (fail closed)', async () => {
    const { t } = tracker();
    t.onQuery(null);
    await t.upstream(BackendCode.RowDescription, rowDescription([['x', 99999, 1, TEXT]])).wait;
    expect(values(t.upstream(BackendCode.DataRow, dataRow(['v'])).out!)).toEqual([null]);
  });

  it('a DataRow with no RowDescription before it is masked whole', () => {
    const { up } = tracker();
    expect(values(up(BackendCode.DataRow, dataRow(['a', 'b']))!)).toEqual([null, null]);
  });

  it('errors and notices lose the values they echo', () => {
    const { t, up } = tracker();
    t.onQuery(null);
    const err = Buffer.concat([cstr('SERROR'), cstr('C23505'), cstr('Mduplicate key value violates unique constraint "u"'), cstr('DKey (email)=(alice@example.com) already exists.'), Buffer.from([0])]);
    const out = up(BackendCode.ErrorResponse, err)!;
    expect(out.toString()).not.toContain('alice@example.com');
    expect(out.toString()).toContain('Key (email)=([redacted]) already exists.');
  });
});

describe('MaskTracker: extended protocol', () => {
  /** Parse, Bind, Describe portal, Execute, Sync and the server's answers up to the RowDescription. */
  function prepared(t: MaskTracker, up: (c: number, b: Buffer) => Buffer | null, name: string, describe = true) {
    t.onParse(name, null);
    t.onBind(bind('', name));
    if (describe) t.onDescribe(describeMsg('P', ''));
    t.onExecute(execute(''));
    t.onSync();
    up(BackendCode.ParseComplete, EMPTY);
    up(BackendCode.BindComplete, EMPTY);
    if (describe) up(BackendCode.RowDescription, USER_ROW);
  }

  it('rows of an executed portal are masked by the portal\'s description', () => {
    const { t, up } = tracker();
    prepared(t, up, 's1');
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual(MASKED_ALICE);
    up(BackendCode.CommandComplete, cstr('SELECT 1'));
    up(BackendCode.ReadyForQuery, ready);
  });

  it('a statement described once is masked when bound and executed again without a Describe (pgjdbc)', () => {
    const { t, up } = tracker();
    prepared(t, up, 's1');
    up(BackendCode.DataRow, ALICE);
    up(BackendCode.CommandComplete, cstr('SELECT 1'));
    up(BackendCode.ReadyForQuery, ready);
    t.onBind(bind('', 's1'));
    t.onExecute(execute(''));
    t.onSync();
    up(BackendCode.BindComplete, EMPTY);
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual(MASKED_ALICE);
  });

  it('a statement described with Describe S is masked in any portal', () => {
    const { t, up } = tracker();
    t.onParse('s2', null);
    t.onDescribe(describeMsg('S', 's2'));
    t.onSync();
    up(BackendCode.ParseComplete, EMPTY);
    up(BackendCode.ParameterDescription, i16(0));
    up(BackendCode.RowDescription, USER_ROW);
    up(BackendCode.ReadyForQuery, ready);
    t.onBind(bind('p', 's2'));
    t.onExecute(execute('p'));
    t.onSync();
    up(BackendCode.BindComplete, EMPTY);
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual(MASKED_ALICE);
  });

  it('rows of a statement whose shape was never seen are masked whole', () => {
    const { t, up } = tracker();
    prepared(t, up, 's3', false);
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual([null, null, null]);
  });

  it('after an error the server skips to Sync: the next batch is read from its own start', () => {
    const { t, up } = tracker();
    t.onParse('bad', null);
    t.onBind(bind('', 'bad'));
    t.onExecute(execute(''));
    t.onSync();
    up(BackendCode.ErrorResponse, Buffer.concat([cstr('SERROR'), cstr('C42P01'), cstr('Mrelation does not exist'), Buffer.from([0])]));
    up(BackendCode.ReadyForQuery, Buffer.from('E'));
    prepared(t, up, 's4');
    expect(values(up(BackendCode.DataRow, ALICE)!)).toEqual(MASKED_ALICE);
  });

  it('the plan a Parse carried applies to the rows of its executions', () => {
    const { t, up } = tracker();
    t.onParse('s5', { outputs: null, derived: 'redact' });
    t.onBind(bind('', 's5'));
    t.onDescribe(describeMsg('P', ''));
    t.onExecute(execute(''));
    t.onSync();
    up(BackendCode.ParseComplete, EMPTY);
    up(BackendCode.BindComplete, EMPTY);
    up(BackendCode.RowDescription, rowDescription([['upper', 0, 0, TEXT]]));
    expect(values(up(BackendCode.DataRow, dataRow(['ALICE@EXAMPLE.COM']))!)).toEqual(['[redacted]']);
  });
});
