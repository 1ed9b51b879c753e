// Every error the broker writes on the wire comes from a BRK_* code: the protocol modules name no error number
// of their own outside their one code table (pg/codes.ts, mysql/codes.ts), and docs/errors.md lists each code
// with the numbers those tables give it. Reads the sources token by token (comments do not count).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { ERRNO_OF } from '../../../src/mysql/codes.js';
import { SQLSTATE_OF } from '../../../src/pg/codes.js';

const DIRS = ['src/pg', 'src/mysql'].map((d) => resolve(d));
const TABLES = new Set(['src/pg/codes.ts', 'src/mysql/codes.ts']);
/** The tables' raw names: outside the table files, errors are named by BRK_* code only. */
const TABLE_NAMES = new Set(['ErrNo', 'SqlState', 'ERRNO_OF', 'SQLSTATE_OF']);
/**
 * Numbers in the MySQL errno range that are not error numbers (sizes, type OIDs). A new one is a decision:
 * an error number goes into mysql/codes.ts instead.
 */
const NOT_ERRNOS: Record<string, number[]> = {
  'src/mysql/packet-reader.ts': [1024],
  'src/mysql/packets.ts': [1024],
  'src/mysql/rsa-key.ts': [2048],
  'src/pg/row-masker.ts': [1043, 1042],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Finding { file: string; line: number; what: string }

/** Raw error codes in one source text: table names, SQLSTATE-shaped strings, errno-range numbers. */
export function rawCodes(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const lineOf = (pos: number) => text.slice(0, pos).split('\n').length;
  const allowed = NOT_ERRNOS[file] ?? [];
  /** open braces inside each template substitution being read (the `}` closing one continues the template) */
  const braces: number[] = [];
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) {
    const pos = scanner.getTokenStart();
    if (t === ts.SyntaxKind.OpenBraceToken && braces.length) braces[braces.length - 1]!++;
    if (t === ts.SyntaxKind.CloseBraceToken && braces.length) {
      if (braces[braces.length - 1] === 0) {
        braces.pop();
        t = scanner.reScanTemplateToken(false);
      } else braces[braces.length - 1]!--;
    }
    if (t === ts.SyntaxKind.TemplateHead || t === ts.SyntaxKind.TemplateMiddle) braces.push(0);
    const value = scanner.getTokenValue();
    const line = lineOf(pos);
    const lineText = text.split('\n')[line - 1] ?? '';
    if (t === ts.SyntaxKind.Identifier && TABLE_NAMES.has(value)) out.push({ file, line, what: `table name ${value}` });
    if (
      (t === ts.SyntaxKind.StringLiteral || t === ts.SyntaxKind.NoSubstitutionTemplateLiteral || t === ts.SyntaxKind.TemplateHead ||
        t === ts.SyntaxKind.TemplateMiddle || t === ts.SyntaxKind.TemplateTail) &&
      /^[0-9A-Z]{5}$/.test(value) && /[0-9]/.test(value)
    ) {
      out.push({ file, line, what: `SQLSTATE-shaped string '${value}'` });
    }
    if (t === ts.SyntaxKind.NumericLiteral) {
      const n = Number(value);
      // timers (grace periods in ms) are not error numbers
      if (n >= 1000 && n < 5000 && !allowed.includes(n) && !/setTimeout|\)\.unref\(\)|[a-z]Ms\b/.test(lineText)) out.push({ file, line, what: `number ${value}` });
    }
  }
  return out;
}

describe('error codes', () => {
  it('pg/ and mysql/ name no error number outside their code tables', () => {
    const findings = DIRS.flatMap(walk)
      .map((f) => relative(resolve('.'), f))
      .filter((f) => !TABLES.has(f))
      .flatMap((f) => rawCodes(f, readFileSync(f, 'utf8')));
    expect(findings.map((f) => `${f.file}:${f.line} ${f.what}`)).toEqual([]);
  });

  it('the scan finds the raw codes it exists to keep out', () => {
    const sample = [
      "encodeErr({ errno: 1047, sqlState: '08S01' }, 'x');",
      "fatal(SqlState.FeatureNotSupported, 'x');",
      "notice({ code: '01000', message: `a ${b}` });",
      "const n = `${x}HY000`;",
      'const PARSE = new Set([1064, 1149]);',
      '// a comment naming 1064 and 42501 is fine',
      'setTimeout(() => s.destroy(), 1000).unref();',
      "const ok = 'BEGIN';",
    ].join('\n');
    expect(rawCodes('src/mysql/sample.ts', sample).map((f) => `${f.line} ${f.what}`)).toEqual([
      '1 number 1047',
      "1 SQLSTATE-shaped string '08S01'",
      '2 table name SqlState',
      "3 SQLSTATE-shaped string '01000'",
      "4 SQLSTATE-shaped string 'HY000'",
      '5 number 1064',
      '5 number 1149',
    ]);
  });

  it('docs/errors.md lists every mapped code with the numbers of both tables', () => {
    const doc = readFileSync(resolve('docs/errors.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Broker error codes'));
    const rows = new Map<string, { pg: string; mysql: string }>();
    for (const m of section.matchAll(/^\| `(BRK_[A-Z_]+)` \|([^|]*)\|([^|]*)\|/gm)) {
      rows.set(m[1]!, { pg: /`([0-9A-Z]{5})`/.exec(m[2]!)?.[1] ?? '', mysql: /`(\d+)` \(`([0-9A-Z]{5})`\)/.exec(m[3]!)?.slice(1).join('/') ?? '' });
    }
    const mapped = Object.values(ErrorCode).filter((c) => SQLSTATE_OF[c] || ERRNO_OF[c]);
    expect(mapped.length).toBeGreaterThan(20);
    for (const code of mapped) {
      const spec = ERRNO_OF[code];
      expect(rows.get(code), code).toEqual({ pg: SQLSTATE_OF[code] ?? '', mysql: spec ? `${spec.errno}/${spec.sqlState}` : '' });
    }
    expect([...rows.keys()].filter((c) => !mapped.includes(c as ErrorCode))).toEqual([]);
  });
});
