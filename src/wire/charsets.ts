// Client character sets: which ones the broker refuses (multibyte characters that can contain ASCII bytes) and how
// statement bytes in the others are decoded the way the server decodes them before the broker reads them.
//
// Defends against charset smuggling: in SJIS, BIG5, GBK, GB18030, JOHAB, UHC (PostgreSQL) and big5, cp932, gbk,
// gb18030, sjis (MySQL/MariaDB) the second byte of a two-byte character may be 0x5C (backslash), 0x27 (quote) or
// another ASCII byte. Bytes the broker reads as `'…\' OR …'` (one string, valid UTF-8) the server reads as a
// closed string followed by SQL. Such sessions are refused outright; every other encoding keeps ASCII bytes
// meaning ASCII characters, so decoding them first gives the broker the server's token boundaries.
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

export type Decoded = { ok: true; text: string } | { ok: false; error: string };
export type Decoder = (bytes: Buffer) => Decoded;

/** PostgreSQL client encodings whose multibyte characters may contain ASCII bytes (canonical names). */
export const PG_UNSAFE_ENCODINGS = ['SJIS', 'SHIFT_JIS_2004', 'BIG5', 'GBK', 'GB18030', 'JOHAB', 'UHC'] as const;

/**
 * PostgreSQL's spellings of those encodings (pg_char_to_encoding's alias table, compared after dropping every
 * non-alphanumeric character and lower-casing, as the server does).
 */
const PG_UNSAFE_ALIASES = new Map<string, string>([
  ['sjis', 'SJIS'], ['shiftjis', 'SJIS'], ['mskanji', 'SJIS'], ['win932', 'SJIS'], ['windows932', 'SJIS'],
  ['shiftjis2004', 'SHIFT_JIS_2004'],
  ['big5', 'BIG5'], ['win950', 'BIG5'], ['windows950', 'BIG5'],
  ['gbk', 'GBK'], ['cp936', 'GBK'], ['win936', 'GBK'], ['windows936', 'GBK'],
  ['gb18030', 'GB18030'],
  ['johab', 'JOHAB'],
  ['uhc', 'UHC'], ['cp949', 'UHC'], ['win949', 'UHC'], ['windows949', 'UHC'],
]);

/**
 * MySQL/MariaDB character sets whose multibyte characters may contain ASCII bytes. test/integration/
 * reading-charsets.test.ts derives this list from the server's own tables (information_schema.CHARACTER_SETS and
 * probing every lead byte) and fails when the server knows one more.
 */
export const MYSQL_UNSAFE_CHARSETS = ['big5', 'cp932', 'gbk', 'gb18030', 'sjis'] as const;

/** Not usable as a client character set at all (the server refuses or replaces them): never seen here. */
const MYSQL_WIDE = new Set(['ucs2', 'utf16', 'utf16le', 'utf32']);

const clean = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The canonical unsafe PostgreSQL encoding `name` spells, or null when it is safe (or unknown to us). */
export function pgUnsafeEncoding(name: string): string | null {
  return PG_UNSAFE_ALIASES.get(clean(name)) ?? null;
}

/** The unsafe MySQL character set `name` names (a charset or a collation of it), or null. */
export function mysqlUnsafeCharset(name: string): string | null {
  const n = name.toLowerCase().trim();
  for (const cs of MYSQL_UNSAFE_CHARSETS) if (n === cs || n.startsWith(`${cs}_`)) return cs;
  return null;
}

/** The client-visible refusal for an unsafe character set. */
export function unsafeCharsetMessage(dialect: 'postgres' | 'mysql', name: string): string {
  const use = dialect === 'postgres' ? 'UTF8' : 'utf8mb4';
  return `dbwarden: client character set ${name} is not supported: its multibyte characters can contain ASCII bytes such as a backslash or a quote, ` +
    `so statements could be read differently by the server than by the broker; use ${use} instead`;
}

/** PostgreSQL client encoding (canonical, as ParameterStatus reports it) → iconv-lite codec. */
const PG_CODECS: Record<string, string> = {
  LATIN1: 'latin1', LATIN2: 'iso88592', LATIN3: 'iso88593', LATIN4: 'iso88594', LATIN5: 'iso88599', LATIN6: 'iso885910',
  LATIN7: 'iso885913', LATIN8: 'iso885914', LATIN9: 'iso885915', LATIN10: 'iso885916',
  ISO_8859_5: 'iso88595', ISO_8859_6: 'iso88596', ISO_8859_7: 'iso88597', ISO_8859_8: 'iso88598',
  WIN866: 'cp866', WIN874: 'windows874', WIN1250: 'win1250', WIN1251: 'win1251', WIN1252: 'win1252', WIN1253: 'win1253',
  WIN1254: 'win1254', WIN1255: 'win1255', WIN1256: 'win1256', WIN1257: 'win1257', WIN1258: 'win1258',
  KOI8R: 'koi8r', KOI8U: 'koi8u', EUC_JP: 'eucjp', EUC_CN: 'gb2312', EUC_KR: 'euckr',
};

/** MySQL character set → iconv-lite codec (MySQL's latin1 is Windows-1252). */
const MYSQL_CODECS: Record<string, string> = {
  latin1: 'cp1252', latin2: 'iso88592', latin5: 'iso88599', latin7: 'iso885913', greek: 'iso88597', hebrew: 'iso88598',
  cp1250: 'win1250', cp1251: 'win1251', cp1256: 'win1256', cp1257: 'win1257', cp850: 'cp850', cp852: 'cp852', cp866: 'cp866',
  koi8r: 'koi8r', koi8u: 'koi8u', tis620: 'tis620', euckr: 'euckr', gb2312: 'gb2312', ujis: 'eucjp', eucjpms: 'eucjp',
  macroman: 'macintosh', macce: 'maccenteuro', armscii8: 'armscii8', geostd8: 'georgianps', binary: 'latin1',
};

const utf8: Decoder = (bytes) => (isUtf8(bytes) ? { ok: true, text: bytes.toString('utf8') } : { ok: false, error: 'statement text is not valid UTF-8' });

/**
 * UTF-8 as MySQL/MariaDB read it (utf8mb3, utf8mb4): the server's decoder also takes a UTF-16 surrogate written
 * as a three-byte sequence of its own (ED A0..BF 80..BF, CESU-8). mysql2 encodes utf8mb3 connections that way,
 * so a character outside the BMP arrives as two such sequences; they decode here to the same JavaScript string
 * its four-byte form gives. Only whole sequences of bytes >= 0x80 are taken in, so every ASCII byte stays the
 * character it is for the server and the broker's token boundaries stay the server's (see the header). Bytes
 * that are neither UTF-8 nor such a sequence are still refused.
 */
const mysqlUtf8: Decoder = (bytes) => {
  if (isUtf8(bytes)) return { ok: true, text: bytes.toString('utf8') };
  let text = '';
  let from = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] !== 0xed || bytes[i + 1]! < 0xa0 || bytes[i + 1]! > 0xbf || (bytes[i + 2]! & 0xc0) !== 0x80) continue;
    // the bytes before the surrogate must be UTF-8 by themselves: no sequence may straddle it
    if (!isUtf8(bytes.subarray(from, i))) break;
    text += bytes.toString('utf8', from, i) + String.fromCharCode(0xd000 | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f));
    from = i + 3;
    i += 2;
  }
  if (!isUtf8(bytes.subarray(from))) return { ok: false, error: 'statement text is not valid UTF-8' };
  return { ok: true, text: text + bytes.toString('utf8', from) };
};

/** ASCII bytes only: an encoding the broker cannot decode still reads pure-ASCII text the same way. */
function asciiOnly(name: string): Decoder {
  return (bytes) => {
    for (const b of bytes) if (b >= 0x80) return { ok: false, error: `non-ASCII text in client encoding ${name}, which the broker cannot decode; use UTF-8` };
    return { ok: true, text: bytes.toString('latin1') };
  };
}

function codec(name: string, codecName: string): Decoder {
  return (bytes) => {
    let ascii = 0;
    let high = false;
    for (const b of bytes) {
      if (b < 0x80) ascii++;
      else high = true;
    }
    if (!high) return { ok: true, text: bytes.toString('latin1') };
    const text = iconv.decode(bytes, codecName);
    // the decoded text must keep every ASCII byte as itself and turn no other byte into ASCII: otherwise the
    // broker's token boundaries could differ from the server's. A byte the codec does not know is refused too.
    let asciiOut = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x80) asciiOut++;
    if (asciiOut !== ascii || text.includes('\uFFFD')) return { ok: false, error: `statement text is not valid ${name}` };
    return { ok: true, text };
  };
}

/**
 * How statement bytes in PostgreSQL client encoding `encoding` (as the server reports it) are read; null when the
 * encoding must be refused.
 */
export function pgDecoder(encoding: string): Decoder | null {
  const e = encoding.toUpperCase();
  if (pgUnsafeEncoding(e)) return null;
  // SQL_ASCII: the server converts nothing but checks the bytes against the database encoding (UTF-8 here)
  if (e === 'UTF8' || e === 'UNICODE' || e === 'SQL_ASCII') return utf8;
  const c = PG_CODECS[e];
  return c ? codec(e, c) : asciiOnly(e);
}

/** The same for a MySQL character set name (character_set_client); null when it must be refused. */
export function mysqlDecoder(charset: string): Decoder | null {
  const cs = charset.toLowerCase();
  if (mysqlUnsafeCharset(cs) || MYSQL_WIDE.has(cs)) return null;
  if (cs === 'utf8' || cs === 'utf8mb3' || cs === 'utf8mb4') return mysqlUtf8;
  if (cs === 'ascii') return asciiOnly(cs);
  const c = MYSQL_CODECS[cs];
  return c ? codec(cs, c) : asciiOnly(cs);
}

export { utf8 as utf8Decoder };
