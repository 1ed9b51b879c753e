// Bearer-token matching: right identity, no match for wrong or malformed input, malformed config hashes never match.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, createTokenAuthenticator } from '../../../src/admin/token-auth.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

describe('createTokenAuthenticator', () => {
  const auth = createTokenAuthenticator({
    alice: { tokenSha256: sha('tok-alice'), groups: ['dev'] },
    bob: { tokenSha256: sha('tok-bob').toUpperCase(), groups: ['dba', 'ops'] },
    broken: { tokenSha256: 'not-hex', groups: [] },
  });

  it('maps each token to its identity and groups (hex case-insensitive)', () => {
    expect(auth('Bearer tok-alice')).toEqual({ name: 'alice', groups: ['dev'] });
    expect(auth('bearer tok-bob')).toEqual({ name: 'bob', groups: ['dba', 'ops'] });
  });

  it('rejects wrong, empty, non-bearer and absent credentials', () => {
    for (const h of ['Bearer tok-carol', 'Bearer ', 'Bearer', 'Basic tok-alice', 'tok-alice', '', undefined, 'Bearer tok-alice extra']) {
      expect(auth(h)).toBeUndefined();
    }
  });

  it('a malformed configured hash never matches, even the all-zero digest', () => {
    expect(auth('Bearer not-hex')).toBeUndefined();
  });

  it('returns copies, so callers cannot change the table', () => {
    const a = auth('Bearer tok-alice')!;
    a.groups.push('dba');
    expect(auth('Bearer tok-alice')!.groups).toEqual(['dev']);
  });
});

describe('bearerToken', () => {
  it('extracts the token', () => {
    expect(bearerToken('Bearer abc.def_ghi')).toBe('abc.def_ghi');
    expect(bearerToken('Bearer  abc ')).toBe('abc');
    expect(bearerToken('Token abc')).toBeUndefined();
  });
});
