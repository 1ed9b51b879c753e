// The MySQL bypass suite: every case is first shown on the local MariaDB to do what it says (blocked ones really
// write, drop, escalate, reach files or other sessions; allowed ones are valid SQL that runs), then decided by the
// broker's rules (checkSql over rules/, dialect mysql).
import { rmSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSql } from '../../src/rules/check.js';
import { loadRuleSets } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { label, type BypassCase } from './bypass-case.js';
import { MYSQL_CASES } from './mysql-cases.js';
import { connect, initBaseline, MY_BYPASS_DB, MY_INPUT_FILE, prove, removeScratchFiles, runsCleanly, THROWAWAY_USER_PREFIX, VICTIM_PLACEHOLDER, VICTIM_SAMPLE_ID } from './mysql-fixture.js';

const cases = MYSQL_CASES.map((c, i) => ({ c, name: label(c, i), i }));

describe('the MySQL case table', () => {
  it('has at least 120 cases with both outcomes, each described, every block case with a proof and a rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(120);
    expect(cases.filter(({ c }) => c.expect === 'block').length).toBeGreaterThanOrEqual(60);
    expect(cases.filter(({ c }) => c.expect === 'allow').length).toBeGreaterThanOrEqual(40);
    for (const { c, name } of cases) {
      expect(c.does.length, name).toBeGreaterThan(3);
      if (c.expect === 'block') {
        expect(c.proof, name).toBeDefined();
        expect(c.rule, name).toBeDefined();
      }
    }
    const keys = cases.map(({ c }) => `${c.access}|${c.sql}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('on the real MariaDB (root, scratch database, rolled back or rebuilt)', () => {
  let admin: mysql.Connection;
  beforeAll(async () => {
    admin = await connect(null);
    await initBaseline(admin);
  });
  afterAll(async () => {
    await removeScratchFiles().catch(() => undefined);
    rmSync(MY_INPUT_FILE, { force: true });
    await admin.query(`DROP USER IF EXISTS ${THROWAWAY_USER_PREFIX}0@'%'`).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${MY_BYPASS_DB}`).catch(() => undefined);
    await admin?.end();
  });

  it('the proofs are not vacuous: a harmless statement fails every kind of proof', async () => {
    const harmless = (proof: BypassCase['proof']): BypassCase => ({ sql: 'SELECT 1', access: 'write', expect: 'block', rule: 'x', does: 'nothing', proof });
    for (const proof of [
      { kind: 'data' }, { kind: 'schema' }, { kind: 'privileges' }, { kind: 'changes', expr: 'CURRENT_USER()' },
      { kind: 'returns', match: /root:/ }, { kind: 'then', check: 'SELECT 0' }, { kind: 'victim', effect: 'cancelled' },
      { kind: 'victim', effect: 'terminated' },
    ] as const) {
      await expect(prove(admin, harmless(proof)), proof.kind).rejects.toThrow(/proof/);
    }
  });

  for (const { c, name } of cases) {
    if (c.expect === 'block') {
      it(`proves: ${c.does} — ${name}`, async () => {
        await prove(admin, c);
      });
    } else {
      it(`runs: ${c.does} — ${name}`, async () => {
        await runsCleanly(admin, c);
      });
    }
  }
});

describe('the broker decides (checkSql with rules/, dialect mysql)', () => {
  let rulesets: RuleSet[];
  beforeAll(() => {
    const loaded = loadRuleSets('rules');
    expect(loaded.errors).toEqual([]);
    rulesets = [...loaded.rulesets.values()];
  });

  for (const { c, name } of cases) {
    it(`${c.knownGap ? 'KNOWN GAP, should be ' : ''}${c.expect}${c.rule ? ` by ${c.rule}` : ''}: ${name}`, () => {
      const sql = c.sql.split(VICTIM_PLACEHOLDER).join(VICTIM_SAMPLE_ID);
      const r = checkSql({ sql, dialect: 'mysql', access: c.access, target: 'app', rulesets });
      const why = `${c.does}\n${JSON.stringify({ action: r.action, rules: r.rules.map((m) => m.id) })}`;
      if (c.refusedBy) {
        // the rules let it through on purpose; the protocol module's check refuses it (proven live elsewhere)
        expect(r.action, `${why}\nrefused by ${c.refusedBy}`).toBe('allow');
        return;
      }
      if (c.knownGap) {
        expect(r.action, `known gap fixed? remove knownGap from the case: ${c.knownGap}`).not.toBe(c.expect);
        return;
      }
      expect(r.action, why).toBe(c.expect);
      if (c.rule) expect(r.rules[0]?.id, why).toBe(c.rule);
    });
  }
});
