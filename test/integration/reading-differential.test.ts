// Differential reading test: texts that put quotes, backslashes, comment openers, separators and multibyte characters
// at the boundaries of a string are run on the real servers under every reading mode (sql_mode quoting flags;
// standard_conforming_strings), recording whether a trailing INSERT actually ran. The broker's reader must agree
// (it sees the INSERT exactly when the server ran it) or refuse the text. DIFF_SIZE=full runs every combination
// (bench/reading-differential.sh runs it that way).
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../src/sql/analyze.js';
import type { ReadOptions } from '../../src/sql/facts.js';

const L = `reading_diff_${randomBytes(4).toString('hex')}`;
const FRAGMENTS = ['', '\\', "'", "\\'", "''", '"', '\\"', '#', '-- ', '/*', '*/', ';', 'é', '`', '$$', 'E\''];
const full = process.env.DIFF_SIZE === 'full';

/** Every pair of fragments around a string's end, then the INSERT whose running we observe. */
export function texts(): string[] {
  const out: string[] = [];
  const tails = full ? FRAGMENTS : [''];
  for (const a of FRAGMENTS) for (const b of FRAGMENTS) for (const c of tails) out.push(`SELECT '${a}' ${b} ; INSERT INTO ${L} VALUES (1) -- ${c}`);
  return out;
}

/**
 * MySQL: the same fragments inside a stored procedure's compound body (BEGIN … END), which the server ends at its
 * END, not at an inner `;` (src/sql/mysql-compound.ts): whether the INSERT after it ran depends on where the string,
 * the comment and the body end.
 */
export function compoundTexts(): string[] {
  const out: string[] = [];
  for (const a of FRAGMENTS) for (const b of FRAGMENTS) out.push(`CREATE PROCEDURE ${L}_p() BEGIN SELECT '${a}' ${b} ; END; INSERT INTO ${L} VALUES (1) -- `);
  return out;
}

interface Verdict { text: string; mode: string; server: boolean; broker: 'insert' | 'none' | 'refused' }

function brokerReading(dialect: 'mysql' | 'postgres', text: string, opts: ReadOptions): Verdict['broker'] {
  const facts = analyze(dialect, text, opts);
  if (facts.some((f) => f.kind === 'unparsed')) return 'refused';
  // an INSERT read inside a routine body (nested) is not one the text runs now
  return facts.some((f) => f.kind === 'insert' && !f.nested && f.tables.some((t) => t.name.endsWith(L))) ? 'insert' : 'none';
}

beforeAll(async () => {
  await initSql();
});

describe('MySQL/MariaDB: the broker reads every text as the server does, or refuses it', () => {
  let c: mysql.Connection;
  beforeAll(async () => {
    c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: 'dbw_my', multipleStatements: true });
    await c.query(`CREATE TABLE ${L} (x INT)`);
  });
  afterAll(async () => {
    await c.query(`DROP TABLE IF EXISTS ${L}`);
    await c.end();
  });

  for (const [mode, opts] of [
    ['', { ansiQuotes: false, noBackslashEscapes: false }],
    ['ANSI_QUOTES', { ansiQuotes: true, noBackslashEscapes: false }],
    ['NO_BACKSLASH_ESCAPES', { ansiQuotes: false, noBackslashEscapes: true }],
    ['ANSI_QUOTES,NO_BACKSLASH_ESCAPES', { ansiQuotes: true, noBackslashEscapes: true }],
  ] as const) {
    for (const charset of mode === '' || full ? ['utf8mb4', 'latin1'] : ['utf8mb4']) {
      it(`sql_mode '${mode}', character set ${charset}`, { timeout: 120_000 }, async () => {
        await c.query(`SET sql_mode = '${mode}', NAMES ${charset}`);
        const verdicts: Verdict[] = [];
        for (const text of texts()) {
          await c.query(`DELETE FROM ${L}`);
          await c.query(text).catch(() => undefined);
          const [r] = await c.query(`SELECT COUNT(*) AS n FROM ${L}`);
          const server = Number((r as { n: number }[])[0]!.n) > 0;
          verdicts.push({ text, mode, server, broker: brokerReading('mysql', text, { ...opts, mariadb: true, serverVersion: 101100 }) });
        }
        const compound: Verdict[] = [];
        for (const text of compoundTexts()) {
          await c.query(`DELETE FROM ${L}; DROP PROCEDURE IF EXISTS ${L}_p`);
          await c.query(text).catch(() => undefined);
          const [r] = await c.query(`SELECT COUNT(*) AS n FROM ${L}`);
          const server = Number((r as { n: number }[])[0]!.n) > 0;
          compound.push({ text, mode, server, broker: brokerReading('mysql', text, { ...opts, mariadb: true, serverVersion: 101100 }) });
        }
        await c.query(`DROP PROCEDURE IF EXISTS ${L}_p`);
        expect(compound.filter((v) => v.broker === 'none' && v.server)).toEqual([]);
        expect(compound.some((v) => v.server && v.broker === 'insert')).toBe(true);
        expect(compound.some((v) => !v.server)).toBe(true);
        await c.query("SET sql_mode = DEFAULT, NAMES utf8mb4");
        // the dangerous disagreement: the server ran the INSERT the broker did not see (the other way only over-refuses)
        const disagree = verdicts.filter((v) => v.broker === 'none' && v.server);
        expect(disagree).toEqual([]);
        // the test is not vacuous: the server ran the INSERT for some texts and not for others, and most are read
        expect(verdicts.some((v) => v.server)).toBe(true);
        expect(verdicts.some((v) => !v.server)).toBe(true);
        expect(verdicts.filter((v) => v.broker !== 'refused').length).toBeGreaterThan(verdicts.length / 3);
      });
    }
  }
});

describe('PostgreSQL: the broker reads every text as the server does, or refuses it', () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'dbw_app' });
    await c.connect();
    await c.query(`CREATE TABLE ${L} (x int)`);
  });
  afterAll(async () => {
    await c.query(`DROP TABLE IF EXISTS ${L}`);
    await c.end();
  });

  for (const scs of ['on', 'off']) {
    for (const encoding of ['UTF8', 'LATIN1']) {
      it(`standard_conforming_strings ${scs}, client_encoding ${encoding}`, { timeout: 120_000 }, async () => {
        await c.query(`SET standard_conforming_strings = ${scs}`);
        await c.query(`SET client_encoding = '${encoding}'`);
        const verdicts: Verdict[] = [];
        for (const text of texts()) {
          await c.query(`DELETE FROM ${L}`);
          await c.query(text).catch(() => undefined);
          const server = (await c.query(`SELECT count(*)::int AS n FROM ${L}`)).rows[0].n > 0;
          verdicts.push({ text, mode: scs, server, broker: brokerReading('postgres', text, scs === 'off' ? { standardConformingStrings: false } : {}) });
        }
        await c.query('RESET standard_conforming_strings; RESET client_encoding');
        const disagree = verdicts.filter((v) => v.broker === 'none' && v.server);
        expect(disagree).toEqual([]);
        expect(verdicts.some((v) => v.server)).toBe(true);
        expect(verdicts.some((v) => !v.server)).toBe(true);
      });
    }
  }
});
