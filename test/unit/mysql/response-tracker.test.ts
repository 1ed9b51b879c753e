// Where responses end: OK/ERR, result sets with and without CLIENT_DEPRECATE_EOF, multi-results, cursors,
// COM_STMT_PREPARE_OK with its definitions, COM_STMT_FETCH rows.
import { describe, expect, it } from 'vitest';
import { ResponseTracker, type ResponseKind } from '../../../src/mysql/response-tracker.js';
import { encodeEof, encodeErr, encodeOk } from '../../../src/mysql/packets.js';
import { ErrNo, ServerStatus } from '../../../src/mysql/codes.js';

const def = Buffer.from('03646566', 'hex'); // a column definition ("def" catalog…)
const row = Buffer.from('0131', 'hex'); // text row "1"
const okFe = (status: number) => {
  const b = Buffer.from(encodeOk({ status }));
  b[0] = 0xfe;
  return b;
};

/** feeds packets; returns the index of the packet that completed the response (or -1) and the dispositions */
function feed(kind: ResponseKind, deprecateEof: boolean, packets: Buffer[], cursors = false) {
  const t = new ResponseTracker(kind, deprecateEof);
  t.cursors = cursors;
  const disp: string[] = [];
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    const d = t.start(p.length ? p[0]! : -1, p.length);
    disp.push(d);
    if (d === 'fetch' && t.packet(p)) return { end: i, disp, status: t.status };
  }
  return { end: -1, disp, status: t.status };
}

describe('ResponseTracker', () => {
  it('OK and ERR end a COM_QUERY at once; OK with more results continues', () => {
    expect(feed('result', false, [encodeOk()]).end).toBe(0);
    expect(feed('result', false, [encodeErr(ErrNo.SpecificAccessDenied, 'x')]).end).toBe(0);
    expect(feed('result', false, [encodeOk({ status: ServerStatus.MoreResultsExist }), encodeOk()]).end).toBe(1);
  });

  it('classic result set: count, definitions, EOF, rows streamed, EOF', () => {
    const r = feed('result', false, [Buffer.from([2]), def, def, encodeEof(2), row, row, row, encodeEof(0x202)]);
    expect(r.end).toBe(7);
    expect(r.disp).toEqual(['fetch', 'fetch', 'fetch', 'fetch', 'send', 'send', 'send', 'fetch']);
    expect(r.status).toBe(0x202);
  });

  it('CLIENT_DEPRECATE_EOF result set ends at the 0xFE OK; multi-results chain', () => {
    expect(feed('result', true, [Buffer.from([1]), def, row, okFe(2)]).end).toBe(3);
    const multi = [Buffer.from([1]), def, row, okFe(ServerStatus.MoreResultsExist), Buffer.from([1]), def, okFe(2)];
    expect(feed('result', true, multi).end).toBe(6);
    expect(feed('result', false, [Buffer.from([1]), def, encodeEof(2), row, encodeErr(ErrNo.ConnectionKilled, 'killed')]).end).toBe(4);
  });

  it('a row starting with 0xFE (a value of 16 MiB or more) is a row, not the end', () => {
    const t = new ResponseTracker('result', true);
    for (const p of [Buffer.from([1]), def]) {
      t.start(p[0]!, p.length);
      t.packet(p);
    }
    expect(t.start(0xfe, 0xffffff)).toBe('send');
  });

  it('a cursor ends COM_STMT_EXECUTE after the definitions; COM_STMT_FETCH ends at its terminator', () => {
    expect(feed('result', false, [Buffer.from([1]), def, encodeEof(ServerStatus.CursorExists)], true).end).toBe(2);
    expect(feed('rows', false, [Buffer.from('00000131', 'hex'), encodeEof(ServerStatus.LastRowSent)]).end).toBe(1);
  });

  it('CURSOR_EXISTS without a cursor asked for (a procedure\'s own cursor in a CALL) does not end the response', () => {
    const rows = [Buffer.from([1]), def, encodeEof(ServerStatus.CursorExists | ServerStatus.MoreResultsExist), Buffer.from('035a6564', 'hex'), encodeEof(ServerStatus.MoreResultsExist), encodeOk()];
    expect(feed('result', false, rows).end).toBe(5);
  });

  it('COM_STMT_PREPARE_OK counts parameter and column definitions', () => {
    const prepOk = (cols: number, params: number) => {
      const b = Buffer.alloc(12);
      b.writeUInt32LE(1, 1);
      b.writeUInt16LE(cols, 5);
      b.writeUInt16LE(params, 7);
      return b;
    };
    expect(feed('prepare', false, [prepOk(0, 0)]).end).toBe(0);
    expect(feed('prepare', false, [prepOk(1, 2), def, def, encodeEof(2), def, encodeEof(2)]).end).toBe(5);
    expect(feed('prepare', true, [prepOk(1, 2), def, def, def]).end).toBe(3);
  });

  it('refuses a LOCAL INFILE request', () => {
    expect(() => feed('result', false, [Buffer.from([0xfb, 0x2f])])).toThrow(/LOCAL INFILE/);
  });
});
