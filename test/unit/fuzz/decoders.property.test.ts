// Property-based tests for every decoder and framer that reads bytes from a client or an upstream: whatever
// arrives, no exception other than the module's own protocol error escapes, nothing hangs, and where an
// encoder exists the bytes survive a round trip.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError, isBrokerError } from '../../../src/errors.js';
import { MessageScanner, fetchSet } from '../../../src/pg/framer.js';
import {
  DecodeError as PgDecodeError,
  decodeFields,
  decodeParse,
  decodeQuery,
  decodeStartupParams,
  encodeErrorResponse,
  encodeParse,
  encodeQuery,
  readCString,
} from '../../../src/pg/messages.js';
import { sanitizeStartupParams } from '../../../src/pg/startup-params.js';
import { PacketScanner, type Disposition } from '../../../src/mysql/framer.js';
import {
  DecodeError as MyDecodeError,
  decodeAuthSwitchRequest,
  decodeErr,
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  decodeOk,
  decodeStatus,
  encodeErr,
  encodeHandshakeResponse41,
  encodeHandshakeV10,
  encodePacket,
  lenencInt,
  readLenencBytes,
  readLenencInt,
  readNulString,
} from '../../../src/mysql/packets.js';
import {
  createScramVerifier,
  scramClientContinue,
  scramClientStart,
  scramServerFinish,
  scramServerStart,
  scramServerStartUnknown,
} from '../../../src/auth/scram-sha-256.js';
import { cachingSha2Check, cachingSha2Verifier, rsaDecryptPassword, rsaEncryptPassword } from '../../../src/auth/caching-sha2-password.js';
import { nativeCheck, nativeVerifier } from '../../../src/auth/mysql-native-password.js';
import { lexMysql } from '../../../src/sql/mysql-lexer.js';
import { pgShapeKey } from '../../../src/sql/pg-shape.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';

await initSql();

const RUNS = { numRuns: 300 };

/** Runs `f`; an exception of one of the `allowed` classes is a clean refusal, anything else fails the property. */
function onlyThrows(f: () => unknown, ...allowed: (new (...a: never[]) => Error)[]): void {
  try {
    f();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return;
    throw e;
  }
}

/** Splits `buf` at the given (sorted, deduplicated) offsets. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const offs = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of offs) {
    out.push(buf.subarray(prev, o));
    prev = o;
  }
  out.push(buf.subarray(prev));
  return out;
}

const pgMessage = fc.record({
  code: fc.constantFrom(...'QPBDESHCXdcfpFrwhVZTKNAGW123ntsI'.split('').map((c) => c.charCodeAt(0))),
  body: fc.uint8Array({ maxLength: 300 }),
});

function encodePg(code: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  Buffer.from(body).copy(out, 5);
  return out;
}

describe('PostgreSQL MessageScanner (property)', () => {
  it('forwards or fetches every byte exactly once, in order, whatever the split and the fetch set', () => {
    fc.assert(
      fc.property(
        fc.array(pgMessage, { maxLength: 25 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, fetchCodes, cuts) => {
          const stream = Buffer.concat(msgs.map((m) => encodePg(m.code, m.body)));
          const out: Buffer[] = [];
          const fetched: number[] = [];
          const s = new MessageScanner(fetchSet(fetchCodes), 1 << 20, {
            onForward: (b) => void out.push(Buffer.from(b)),
            onMessage: (code, body, raw) => {
              expect(raw[0]).toBe(code);
              expect(raw.readInt32BE(1)).toBe(body.length + 4);
              fetched.push(code);
              out.push(Buffer.from(raw));
            },
          });
          for (const c of splitAt(stream, cuts)) s.push(c);
          expect(Buffer.concat(out).equals(stream)).toBe(true);
          expect(fetched).toEqual(msgs.filter((m) => fetchCodes.includes(m.code)).map((m) => m.code));
          expect(s.atBoundary).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('garbage yields a BrokerError or nothing, never another exception, and stops after an error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const s = new MessageScanner(fetchSet([0x51, 0x50, 0x46, 0x58, 0x53]), 256, { onForward: () => {}, onMessage: () => {} });
        let failed = false;
        for (const c of splitAt(Buffer.from(bytes), cuts)) {
          try {
            s.push(c);
          } catch (e) {
            expect(isBrokerError(e)).toBe(true);
            failed = true;
            break;
          }
        }
        if (failed) expect(() => s.push(Buffer.from([0x51, 0, 0, 0, 4]))).not.toThrow();
      }),
      RUNS,
    );
  });
});

describe('PostgreSQL message decoders (property)', () => {
  it('decoders of client and upstream messages throw only DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 250 }), (bytes, off) => {
        const b = Buffer.from(bytes);
        onlyThrows(() => decodeQuery(b), PgDecodeError);
        onlyThrows(() => decodeParse(b), PgDecodeError);
        onlyThrows(() => decodeFields(b), PgDecodeError);
        onlyThrows(() => decodeStartupParams(b), PgDecodeError);
        onlyThrows(() => readCString(b, off), PgDecodeError);
      }),
      RUNS,
    );
  });

  it('Query, Parse and ErrorResponse survive a round trip', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 80 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(text, text, (name, sql) => {
        expect(decodeQuery(encodeQuery(sql).subarray(5))).toBe(sql);
        expect(decodeParse(encodeParse(name, sql).subarray(5))).toMatchObject({ name, text: sql });
        const f = decodeFields(encodeErrorResponse({ severity: 'ERROR', code: '42501', message: sql, detail: name || undefined }).subarray(5));
        expect(f.get('M')).toBe(sql);
        expect(f.get('D')).toBe(name || undefined);
      }),
      RUNS,
    );
  });

  it('startup parameters from any bytes are sanitized or refused, never thrown', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }), (d) => {
        const r = sanitizeStartupParams(new Map(Object.entries(d)));
        expect(typeof r.ok).toBe('boolean');
      }),
      RUNS,
    );
  });
});

const myPacket = fc.record({ first: fc.integer({ min: 0, max: 255 }), rest: fc.uint8Array({ maxLength: 200 }), empty: fc.boolean() });

describe('MySQL PacketScanner (property)', () => {
  it('send/fetch/skip dispositions account for every byte in order, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(myPacket, { maxLength: 25 }),
        fc.array(fc.constantFrom<Disposition>('send', 'fetch', 'skip'), { minLength: 256, maxLength: 256 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (pkts, byFirst, cuts) => {
          let seq = 0;
          const encoded = pkts.map((p) => {
            const payload = p.empty ? Buffer.alloc(0) : Buffer.concat([Buffer.from([p.first]), Buffer.from(p.rest)]);
            return { raw: encodePacket(seq++ & 0xff, payload), first: p.empty ? -1 : p.first };
          });
          const disp = (first: number): Disposition => (first < 0 ? 'send' : byFirst[first]!);
          const expected = Buffer.concat(encoded.filter((e) => disp(e.first) !== 'skip').map((e) => e.raw));
          const out: Buffer[] = [];
          const s = new PacketScanner(1 << 20, {
            onStart: (_seq, _len, first) => disp(first),
            onForward: (b) => void out.push(Buffer.from(b)),
            onPacket: (_payload, raw) => void out.push(Buffer.from(raw)),
          });
          for (const c of splitAt(Buffer.concat(encoded.map((e) => e.raw)), cuts)) s.push(c);
          expect(Buffer.concat(out).equals(expected)).toBe(true);
          expect(s.atBoundary).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('garbage yields a BrokerError or nothing, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const s = new PacketScanner(512, { onStart: () => 'fetch', onForward: () => {}, onPacket: () => {} });
        for (const c of splitAt(Buffer.from(bytes), cuts)) {
          try {
            s.push(c);
          } catch (e) {
            expect(e).toBeInstanceOf(BrokerError);
            break;
          }
        }
      }),
      RUNS,
    );
  });
});

describe('MySQL packet decoders (property)', () => {
  it('handshake, OK, ERR, status and auth-switch decoders throw only DecodeError on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 300 }), (bytes, off) => {
        const b = Buffer.from(bytes);
        onlyThrows(() => decodeHandshakeV10(b), MyDecodeError);
        onlyThrows(() => decodeHandshakeResponse41(b), MyDecodeError);
        onlyThrows(() => decodeOk(b), MyDecodeError);
        onlyThrows(() => decodeErr(b), MyDecodeError);
        onlyThrows(() => decodeStatus(b), MyDecodeError);
        onlyThrows(() => decodeAuthSwitchRequest(b), MyDecodeError);
        onlyThrows(() => readLenencInt(b, off), MyDecodeError);
        onlyThrows(() => readLenencBytes(b, off), MyDecodeError);
        onlyThrows(() => readNulString(b, off), MyDecodeError);
      }),
      RUNS,
    );
  });

  it('length-encoded integers round-trip up to 2^53', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const enc = lenencInt(n);
        expect(readLenencInt(enc, 0)).toEqual([n, enc.length]);
      }),
      RUNS,
    );
  });

  it('HandshakeV10, HandshakeResponse41 and ERR survive a round trip', () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(ascii, fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 1, max: 0x7fffffff }), ascii, (version, scramble, threadId, user) => {
        const s = Buffer.from(scramble.map((x) => (x === 0 ? 1 : x)));
        const h = decodeHandshakeV10(encodeHandshakeV10({ serverVersion: version, threadId, scramble: s, capabilities: 0xf7ffffff >>> 0, charset: 45, status: 2, authPlugin: 'mysql_native_password', mariadbCapabilities: 0 } as never));
        expect(h.serverVersion).toBe(version);
        expect(h.threadId).toBe(threadId);
        expect(Buffer.compare(h.scramble, s)).toBe(0);
        const r = decodeHandshakeResponse41(encodeHandshakeResponse41({ capabilities: 0x000fa68d, mariadbCapabilities: 0, maxPacketSize: 1 << 24, charset: 45, user, authResponse: Buffer.from(scramble), database: user, authPlugin: "mysql_native_password", attributes: new Map() }));
        expect(r.user).toBe(user);
        expect(r.database).toBe(user);
        const e = decodeErr(encodeErr({ errno: 1227, sqlState: '42000' } as never, `dbwarden: ${user}`));
        expect(e).toMatchObject({ errno: 1227, sqlState: '42000', message: `dbwarden: ${user}` });
      }),
      { numRuns: 100 },
    );
  });
});

describe('authentication exchanges (property)', () => {
  const verifier = createScramVerifier('correct horse battery staple', 4096);
  it('SCRAM server start/finish never throws on any client message, and refuses forged finals', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 300 }), (first, final) => {
        for (const start of [scramServerStart(verifier, first), scramServerStartUnknown('someone', Buffer.alloc(32, 1), first)]) {
          if (!start.ok) continue;
          const fin = scramServerFinish(start.state, final);
          expect(fin.ok).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('SCRAM client never throws on any upstream server-first', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (serverFirst) => {
        const { state } = scramClientStart();
        const r = scramClientContinue(state, serverFirst, 'pw');
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 200 },
    );
  });

  it('MySQL token checks refuse any forged token without throwing', () => {
    const nv = nativeVerifier('pw');
    const cv = cachingSha2Verifier('pw');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (token, scramble) => {
        expect(nativeCheck(nv, Buffer.from(scramble), Buffer.from(token))).toBe(false);
        expect(cachingSha2Check(cv, Buffer.from(scramble), Buffer.from(token))).toBe(false);
      }),
      RUNS,
    );
  });

  it('RSA exchange: garbage from a client decrypts to nothing without throwing; a real answer round-trips', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (data, scramble) => {
        expect(rsaDecryptPassword(privateKey, Buffer.from(data), Buffer.from(scramble))).toBeUndefined();
      }),
      { numRuns: 50 },
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0')), fc.uint8Array({ minLength: 20, maxLength: 20 }), (pw, scramble) => {
        const sc = Buffer.from(scramble);
        expect(rsaDecryptPassword(privateKey, rsaEncryptPassword(pw, sc, publicKey), sc)).toBe(pw);
      }),
      { numRuns: 20 },
    );
  });
});

// SQL-ish text: keywords, quotes, comment openers, backslashes and multibyte characters at random boundaries
const sqlPiece = fc.constantFrom(
  'select ', 'update ', 'delete ', 'from ', 'where ', 't ', '1', '=', ';', "'", '"', '`', '\\', '/*', '*/', '/*!', '/*!50000 ', '/*M!',
  '-- ', '#', '\n', ' ', '$$', '$a$', 'E\'', 'U&"', '(', ')', ',', '?', '$1', 'é', '中', '\u00a0', '\u0000', 'x\'41\'', "N'", '::int',
);
const sqlText = fc.oneof(fc.array(sqlPiece, { maxLength: 40 }).map((a) => a.join('')), fc.string({ maxLength: 120 }));

describe('SQL readers (property)', () => {
  it('the MySQL lexer never throws and always terminates, under every reading mode', () => {
    fc.assert(
      fc.property(sqlText, fc.boolean(), fc.boolean(), fc.boolean(), (text, mariadb, ansiQuotes, noBackslashEscapes) => {
        const r = lexMysql(text, { server: { mariadb, version: mariadb ? 101105 : 80036 }, ansiQuotes, noBackslashEscapes });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('the PostgreSQL shape scanner never throws, and a shape key never keeps a quote, backslash or comment opener', () => {
    fc.assert(
      fc.property(sqlText, (text) => {
        const k = pgShapeKey(text);
        // the scanner accepts only the plain lexical subset: anything it cannot be sure of gets no shared decision
        if (k !== undefined) expect(k).not.toMatch(/['"\\$]|--|\/\*/);
      }),
      { numRuns: 500 },
    );
  });

  it('analysis of any text returns facts (unparsed at worst) for both dialects, never throws', () => {
    fc.assert(
      fc.property(sqlText, (text) => {
        for (const dialect of ['postgres', 'mysql'] as const) {
          const facts = analyze(dialect, text);
          expect(Array.isArray(facts)).toBe(true);
          for (const f of facts) expect(typeof f.kind).toBe('string');
        }
      }),
      { numRuns: 300 },
    );
  });
});
