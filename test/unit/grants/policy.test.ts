// Tests for access-policy matching.
import { describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../../../src/config/schema.js';
import { matchesPrincipal, matchPolicy } from '../../../src/grants/policy.js';
import type { Identity } from '../../../src/grants/model.js';
import type { AccessLevel } from '../../../src/rules/types.js';

const policy = (p: Partial<PolicyConfig> & { name: string }): PolicyConfig => ({
  requesters: ['*'], targets: ['*'], access: ['read'], maxTtl: '1h', approvals: 0, approvers: [], alert: false, ...p,
});

const policies: PolicyConfig[] = [
  policy({ name: 'reporting-read', requesters: ['group:analyst'], targets: ['app'], databases: ['reporting'], access: ['read'] }),
  policy({ name: 'read-all', requesters: ['*'], access: ['read'] }),
  policy({ name: 'dev-write', requesters: ['group:dev', 'ci'], targets: ['app', 'shop'], access: ['write'] }),
  policy({ name: 'dba-any', requesters: ['group:dba'], access: ['write', 'admin'] }),
];

const alice: Identity = { name: 'alice', groups: ['dev'] };
const ann: Identity = { name: 'ann', groups: ['analyst'] };
const ci: Identity = { name: 'ci', groups: [] };
const bob: Identity = { name: 'bob', groups: ['dba'] };
const eve: Identity = { name: 'eve', groups: ['devops'] };

describe('matchPolicy', () => {
  it.each<[Identity, string, AccessLevel, string[], string | undefined]>([
    [ann, 'app', 'read', ['reporting'], 'reporting-read'],
    [ann, 'app', 'read', ['app'], 'read-all'], // database not in the first policy's list
    [ann, 'app', 'read', ['reporting', 'app'], 'read-all'], // databases must be a subset
    [ann, 'shop', 'read', ['reporting'], 'read-all'], // target not named by the first policy
    [alice, 'app', 'read', ['app'], 'read-all'],
    [alice, 'app', 'write', ['app'], 'dev-write'],
    [alice, 'shop', 'write', ['shop'], 'dev-write'],
    [alice, 'billing', 'write', ['billing'], undefined], // target not covered
    [alice, 'app', 'admin', ['app'], undefined],
    [ci, 'app', 'write', ['app'], 'dev-write'], // by identity name
    [bob, 'billing', 'admin', ['x'], 'dba-any'],
    [bob, 'app', 'write', ['app'], 'dba-any'],
    [eve, 'app', 'write', ['app'], undefined], // "group:dev" does not admit "devops"
    [{ name: 'group:dev', groups: [] }, 'app', 'write', ['app'], undefined],
  ])('%o on %s %s %o → %s', (identity, target, access, databases, expected) => {
    expect(matchPolicy(policies, identity, target, access, databases)?.name).toBe(expected);
  });

  it('returns the first match in order', () => {
    const first = policy({ name: 'first', access: ['read'] });
    expect(matchPolicy([first, policy({ name: 'second' })], alice, 'app', 'read', ['app'])).toBe(first);
  });

  it('matches nothing with no policies', () => {
    expect(matchPolicy([], alice, 'app', 'read', ['app'])).toBeUndefined();
  });
});

describe('matchesPrincipal', () => {
  it('matches "*", the name and groups exactly', () => {
    expect(matchesPrincipal(['*'], eve)).toBe(true);
    expect(matchesPrincipal(['eve'], eve)).toBe(true);
    expect(matchesPrincipal(['Eve'], eve)).toBe(false);
    expect(matchesPrincipal(['group:devops'], eve)).toBe(true);
    expect(matchesPrincipal(['group:dev', 'group:ops'], eve)).toBe(false);
    expect(matchesPrincipal([], eve)).toBe(false);
  });
});
