// The ORM/driver corpus: every statement runs on the real server (scratch schema/database) and is allowed by the shipped rules.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSql } from '../../src/rules/check.js';
import { loadRuleSets } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { loadCorpus } from './corpus.js';

const SUFFIX = `${process.pid % 100000}_${Math.floor(Math.random() * 1e6)}`;
const PG_SCHEMA = `effects_corpus_${SUFFIX}`;
const MY_DB = `effects_corpus_${SUFFIX}`;
const pgCorpus = loadCorpus('postgres');
const myCorpus = loadCorpus('mysql');
let rulesets: RuleSet[];

beforeAll(() => {
  const loaded = loadRuleSets('rules');
  expect(loaded.errors).toEqual([]);
  // the rules every target gets by default; masking (pii-masking.yaml) is opt-in and answers `mask`, not a refusal
  rulesets = [loaded.rulesets.get('safe-defaults')!];
});

describe('the corpus', () => {
  it('covers the frameworks and drivers of issue 12', () => {
    const sections = [...pgCorpus, ...myCorpus].map((e) => e.section).join('\n');
    for (const name of ['Rails', 'Django', 'SQLAlchemy', 'Prisma', 'TypeORM', 'Sequelize', 'Hibernate', 'Go', 'psql', 'mysql', 'pg_dump', 'mysqldump', 'Metabase']) {
      expect(sections, name).toContain(name);
    }
    expect(pgCorpus.length + myCorpus.length).toBeGreaterThanOrEqual(100);
  });

  it('is 100% allowed by the shipped rules under its grants (offline and with the live MariaDB reading)', () => {
    const refused: string[] = [];
    for (const e of [...pgCorpus, ...myCorpus]) {
      const readings = e.dialect === 'mysql' ? [undefined, { mariadb: true, serverVersion: 101119, ansiQuotes: false, noBackslashEscapes: false }] : [undefined];
      for (const access of e.access) {
        for (const readOptions of readings) {
          const r = checkSql({ sql: e.sql, dialect: e.dialect, access, target: 'app', rulesets, ...(readOptions ? { readOptions } : {}) });
          if (r.action !== 'allow') refused.push(`[${e.dialect} ${access}] ${e.sql}: ${r.action} ${r.rules.map((m) => m.id).join(',')}`);
        }
      }
    }
    expect(refused.join('\n')).toBe('');
  });
});

describe('on the real PostgreSQL (scratch schema, each statement rolled back)', () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', options: `-c search_path=${PG_SCHEMA},public` });
    await c.connect();
    await c.query(`CREATE SCHEMA ${PG_SCHEMA}; CREATE TABLE ${PG_SCHEMA}.corpus_users (id serial PRIMARY KEY, name text, email text, created_at timestamp DEFAULT now())`);
  });
  afterAll(async () => {
    await c?.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`).catch(() => undefined);
    await c?.end();
  });
  it('runs every statement (with $n parameters: PREPARE parses and plans it)', async () => {
    const failed: string[] = [];
    for (const e of pgCorpus) {
      try {
        await c.query('BEGIN');
        if (/\$\d/.test(e.sql)) {
          await c.query(`PREPARE corpus_stmt AS ${e.sql}`);
          await c.query('DEALLOCATE corpus_stmt');
        } else {
          await c.query(e.sql);
        }
      } catch (err) {
        failed.push(`${e.sql}: ${(err as Error).message}`);
      } finally {
        await c.query('ROLLBACK').catch(() => undefined);
      }
    }
    expect(failed.join('\n')).toBe('');
  });
});

describe('on the real MariaDB (scratch database, each statement rolled back where it can be)', () => {
  let c: mysql.Connection;
  beforeAll(async () => {
    c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
    await c.query(`CREATE DATABASE ${MY_DB}; USE ${MY_DB};
      CREATE TABLE corpus_users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), email VARCHAR(80), created_at DATETIME DEFAULT NOW(), updated_at DATETIME);
      CREATE TABLE schema_migrations (version VARCHAR(40) PRIMARY KEY)`);
  });
  afterAll(async () => {
    await c?.query(`DROP DATABASE IF EXISTS ${MY_DB}`).catch(() => undefined);
    await c?.end();
  });
  it('runs every statement', async () => {
    const failed: string[] = [];
    for (const e of myCorpus) {
      try {
        await c.query('START TRANSACTION');
        await c.query(e.sql);
      } catch (err) {
        failed.push(`${e.sql}: ${(err as Error).message}`);
      } finally {
        await c.query('ROLLBACK').catch(() => undefined);
      }
    }
    expect(failed.join('\n')).toBe('');
  });
});
