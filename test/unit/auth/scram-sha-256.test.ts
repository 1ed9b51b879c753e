// SCRAM-SHA-256: RFC 7677 vector, PostgreSQL-made verifiers, round trips and every way the exchange must fail.
import { describe, expect, it } from 'vitest';
import {
  createScramVerifier,
  createScramVerifierAsync,
  parseScramVerifier,
  saslprep,
  scramClientContinue,
  scramClientStart,
  scramClientVerifyFinal,
  scramServerFinish,
  scramServerStart,
  scramServerStartUnknown,
  type ScramServerState,
} from '../../../src/auth/scram-sha-256.js';

// RFC 7677 §3
const RFC = {
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonceSuffix: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function rfcVerifier(): string {
  return createScramVerifier(RFC.password, 4096, Buffer.from(RFC.salt, 'base64'));
}

function startOk(verifier: string, clientFirst: string, nonce?: string): { serverFirst: string; state: ScramServerState } {
  const r = scramServerStart(verifier, clientFirst, nonce);
  if (!r.ok) throw new Error(`start failed: ${r.reason}`);
  return r;
}

/** Full exchange between our client and our server. */
function roundTrip(verifier: string, password: string) {
  const c1 = scramClientStart();
  const s1 = startOk(verifier, c1.clientFirst);
  const c2 = scramClientContinue(c1.state, password, s1.serverFirst);
  if (!c2.ok) throw new Error(`continue failed: ${c2.reason}`);
  const s2 = scramServerFinish(s1.state, c2.clientFinal);
  return { s2, clientState: c2.state };
}

describe('RFC 7677 test vector', () => {
  it('server side produces the published server-first and server-final', () => {
    const s1 = startOk(rfcVerifier(), RFC.clientFirst, RFC.serverNonceSuffix);
    expect(s1.serverFirst).toBe(RFC.serverFirst);
    const s2 = scramServerFinish(s1.state, RFC.clientFinal);
    expect(s2).toEqual({ ok: true, serverFinal: RFC.serverFinal });
  });

  it('client side produces the published client proof and accepts the published signature', () => {
    const c1 = scramClientStart(RFC.clientNonce);
    // Our client sends an empty username like libpq; RFC's "user" only changes client-first-bare,
    // so rebuild the client state with the RFC's bare message to reproduce the vector.
    const state = { ...c1.state, clientFirstBare: RFC.clientFirst.slice(3) };
    const c2 = scramClientContinue(state, RFC.password, RFC.serverFirst);
    expect(c2.ok).toBe(true);
    if (!c2.ok) return;
    expect(c2.clientFinal).toBe(RFC.clientFinal);
    expect(scramClientVerifyFinal(c2.state, RFC.serverFinal)).toBe(true);
    expect(scramClientVerifyFinal(c2.state, 'v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe(false);
    expect(scramClientVerifyFinal(c2.state, 'e=invalid-proof')).toBe(false);
    expect(scramClientVerifyFinal(c1.state, RFC.serverFinal)).toBe(false);
  });

  it('client-first is libpq shaped', () => {
    const c1 = scramClientStart(RFC.clientNonce);
    expect(c1.clientFirst).toBe('n,,n=,r=rOprNGfwEbeRWgbNEkqO');
    expect(scramClientStart().clientFirst).toMatch(/^n,,n=,r=[A-Za-z0-9+/=]{24}$/);
  });
});

describe('verifiers', () => {
  it('create/parse round trip in RFC 5803 form', () => {
    const v = rfcVerifier();
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    const p = parseScramVerifier(v);
    expect(p?.iterations).toBe(4096);
    expect(p?.salt.toString('base64')).toBe(RFC.salt);
    expect(p?.storedKey.length).toBe(32);
    expect(createScramVerifier('pencil')).not.toBe(createScramVerifier('pencil')); // random salt
  });

  it('the thread-pool verifier equals the synchronous one for the same salt', async () => {
    expect(await createScramVerifierAsync(RFC.password, 4096, Buffer.from(RFC.salt, 'base64'))).toBe(rfcVerifier());
  });

  it('a client login answers the RFC vector again when its salted password is remembered', () => {
    // the second exchange of the same password, salt and count is served from the upstream cache
    const rfcState = () => ({ ...scramClientStart(RFC.clientNonce).state, clientFirstBare: RFC.clientFirst.slice(3) });
    for (let i = 0; i < 2; i++) {
      const r = scramClientContinue(rfcState(), RFC.password, RFC.serverFirst);
      expect(r.ok && r.clientFinal).toBe(RFC.clientFinal);
      expect(r.ok && scramClientVerifyFinal(r.state, RFC.serverFinal)).toBe(true);
    }
    const wrong = scramClientContinue(rfcState(), 'not pencil', RFC.serverFirst);
    expect(wrong.ok && wrong.clientFinal).not.toBe(RFC.clientFinal);
  });

  it('rejects malformed verifiers', () => {
    for (const bad of ['', 'md5abc', 'SCRAM-SHA-256$0:AAAA$' + 'A'.repeat(43) + '=:' + 'A'.repeat(43) + '=', 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA', 'SCRAM-SHA-256$4096:!!$x:y']) {
      expect(parseScramVerifier(bad)).toBeUndefined();
    }
    const r = scramServerStart('not a verifier', 'n,,n=,r=abc');
    expect(r.ok).toBe(false);
  });

  it('matches verifiers PostgreSQL 15 stored (salt taken from them)', () => {
    // select rolpassword from pg_authid after CREATE ROLE … PASSWORD 'pencil' / U&'pa\00A0ss\FB01\00AD'
    const fromPg = [
      ['pencil', 'SCRAM-SHA-256$4096:sGLOKAO/K5puBYxub+BnFA==$0KVNNIKyyqym3PKFpvpaitc0H5L30v8J33Qnid3aUIA=:+GiE6no5YPBmfgNh4esS+NqsQxMn/1B4qGNBeg/Pivw='],
      ['pa\u00A0ss\uFB01\u00AD', 'SCRAM-SHA-256$4096:5RvTlUUVBw6/73kuYfeD9w==$9MQH4GVJkFnTIPhR+lSwqvBMUrJ0YYungR+3Wpe3Jq4=:gDMGkb+J0K2jaltDswU/cnx/vcWZgdM3T+JZaP7CGbE='],
    ] as const;
    for (const [password, stored] of fromPg) {
      const salt = parseScramVerifier(stored)!.salt;
      expect(createScramVerifier(password, 4096, salt)).toBe(stored);
      expect(roundTrip(stored, password).s2.ok).toBe(true);
    }
  });

  it('saslprep maps spaces, drops soft hyphens, NFKC-normalises, and keeps ASCII or prohibited input raw', () => {
    expect(saslprep('pencil')).toBe('pencil');
    expect(saslprep('a\u00A0b\u00ADc\uFB01')).toBe('a bcfi');
    expect(saslprep('\u2168')).toBe('IX');
    expect(saslprep('x\u0007\u00E9')).toBe('x\u0007\u00E9'); // control char: prohibited → raw
    expect(saslprep('a\tb')).toBe('a\tb'); // pure ASCII is never touched
  });
});

describe('client ↔ server round trip', () => {
  const verifier = createScramVerifier('correct horse', 4096);

  it('succeeds with the right password and the client verifies the server', () => {
    const { s2, clientState } = roundTrip(verifier, 'correct horse');
    expect(s2.ok).toBe(true);
    if (!s2.ok) return;
    expect(scramClientVerifyFinal(clientState, s2.serverFinal)).toBe(true);
  });

  it('fails with a wrong password', () => {
    const { s2 } = roundTrip(verifier, 'correct horsf');
    expect(s2).toEqual({ ok: false, reason: 'password does not match' });
  });

  it('a server that does not know the verifier cannot fool the client', () => {
    const c1 = scramClientStart();
    const fake = startOk(createScramVerifier('other', 4096), c1.clientFirst);
    const c2 = scramClientContinue(c1.state, 'correct horse', fake.serverFirst);
    expect(c2.ok).toBe(true);
    if (!c2.ok) return;
    const fakeFinal = scramServerFinish(fake.state, c2.clientFinal);
    expect(fakeFinal.ok).toBe(false);
    // even replaying a genuine server-final from another exchange must fail
    const other = roundTrip(verifier, 'correct horse').s2;
    expect(other.ok && scramClientVerifyFinal(c2.state, other.serverFinal)).toBe(false);
  });

  it('accepts y,, and checks that c= echoes it', () => {
    const s1 = startOk(verifier, 'y,,n=someone,r=clientnonce123');
    const c2 = scramClientContinue(
      { clientNonce: 'clientnonce123', clientFirstBare: 'n=someone,r=clientnonce123' },
      'correct horse',
      s1.serverFirst,
    );
    if (!c2.ok) throw new Error(c2.reason);
    // our client always writes c=biws (n,,); the server saw y,, so this must fail
    expect(scramServerFinish(s1.state, c2.clientFinal)).toEqual({ ok: false, reason: 'channel binding data does not match' });
  });

  it('fails on a tampered nonce, proof or channel-binding field', () => {
    const c1 = scramClientStart();
    const s1 = startOk(verifier, c1.clientFirst);
    const c2 = scramClientContinue(c1.state, 'correct horse', s1.serverFirst);
    if (!c2.ok) throw new Error(c2.reason);
    const tamperedNonce = c2.clientFinal.replace(/,r=([^,]+)/, (_m, n: string) => `,r=${n.slice(0, -1)}${n.endsWith('A') ? 'B' : 'A'}`);
    expect(scramServerFinish(s1.state, tamperedNonce)).toEqual({ ok: false, reason: 'nonce mismatch' });
    const proof = c2.clientFinal.slice(c2.clientFinal.lastIndexOf(',p=') + 3);
    const flipped = Buffer.from(proof, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    const tamperedProof = c2.clientFinal.replace(proof, flipped.toString('base64'));
    expect(scramServerFinish(s1.state, tamperedProof)).toEqual({ ok: false, reason: 'password does not match' });
    expect(scramServerFinish(s1.state, c2.clientFinal.replace('c=biws', 'c=eSws')).ok).toBe(false);
    // the genuine message still works against its own state
    expect(scramServerFinish(s1.state, c2.clientFinal).ok).toBe(true);
  });

  it('a client-final from one exchange does not pass another (replay)', () => {
    const c1 = scramClientStart();
    const a = startOk(verifier, c1.clientFirst);
    const b = startOk(verifier, c1.clientFirst);
    const c2 = scramClientContinue(c1.state, 'correct horse', a.serverFirst);
    if (!c2.ok) throw new Error(c2.reason);
    expect(scramServerFinish(b.state, c2.clientFinal).ok).toBe(false);
  });
});

describe('per-login shortcuts (parsed-verifier cache, pooled nonce bytes)', () => {
  it('server nonces never repeat across many exchanges (the pool is refilled, never reused)', () => {
    const verifier = createScramVerifier('pool', 4096);
    const c = scramClientStart();
    const seen = new Set<string>();
    // several refills of the 256-nonce block
    for (let i = 0; i < 1000; i++) {
      const s = startOk(verifier, c.clientFirst);
      const serverPart = s.state.nonce.slice(c.state.clientNonce.length);
      expect(serverPart).toMatch(/^[A-Za-z0-9+/]{24}$/);
      seen.add(serverPart);
    }
    expect(seen.size).toBe(1000);
  });

  it('a verifier set again (new password) is checked against the new keys, not a cached parse of the old', () => {
    const salt = Buffer.alloc(16, 7);
    const before = createScramVerifier('old password', 4096, salt);
    const after = createScramVerifier('new password', 4096, salt);
    expect(roundTrip(before, 'old password').s2.ok).toBe(true);
    expect(roundTrip(after, 'old password').s2.ok).toBe(false);
    expect(roundTrip(after, 'new password').s2.ok).toBe(true);
    expect(roundTrip(before, 'new password').s2.ok).toBe(false);
    expect(parseScramVerifier(after)).toEqual(parseScramVerifier(after));
    expect(parseScramVerifier(after)!.storedKey.equals(parseScramVerifier(before)!.storedKey)).toBe(false);
  });

  it('a malformed verifier stays refused however often it is asked for', () => {
    for (let i = 0; i < 3; i++) expect(parseScramVerifier('SCRAM-SHA-256$4096:bad')).toBeUndefined();
  });
});

describe('malformed client input never throws', () => {
  const verifier = rfcVerifier();
  it.each([
    [''],
    ['n,,'],
    ['n,,r=abc'],
    ['x,,n=,r=abc'],
    ['p=tls-server-end-point,,n=,r=abc'],
    ['n,a=admin,n=,r=abc'],
    ['n,,m=ext,n=,r=abc'],
    ['n,,n=,r=a,b'],
    ['n,,n=,r='],
    ['n,,n=,r=ab\u00e9'],
  ])('client-first %j is rejected', (msg) => {
    const r = scramServerStart(verifier, msg);
    expect(r.ok).toBe(false);
  });

  it.each([[''], ['c=biws'], ['c=biws,r=x,p=AAAA'], ['garbage,p='], ['r=x,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='], ['c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=not_base64!']])(
    'client-final %j is rejected',
    (msg) => {
      const s1 = startOk(verifier, RFC.clientFirst, RFC.serverNonceSuffix);
      const r = scramServerFinish(s1.state, msg);
      expect(r.ok).toBe(false);
    },
  );
});

describe('client rejects a hostile upstream', () => {
  const c1 = scramClientStart('ournonce');
  it.each([
    ['r=othernonceXYZ,s=QUJD,i=4096', 'server nonce does not extend the client nonce'],
    ['r=ournonce,s=QUJD,i=4096', 'server nonce does not extend the client nonce'],
    ['r=ournonceXYZ,s=QUJD,i=0', 'iteration count out of range'],
    ['r=ournonceXYZ,s=QUJD,i=10000001', 'iteration count out of range'],
    ['r=ournonceXYZ,s=QUJD,i=-5', 'invalid iteration count'],
    ['r=ournonceXYZ,s=,i=4096', 'invalid salt'],
    ['m=x,r=ournonceXYZ,s=QUJD,i=4096', 'unsupported mandatory extension'],
    ['e=other-error', 'malformed server-first-message'],
  ])('%s', (serverFirst, reason) => {
    expect(scramClientContinue(c1.state, 'pw', serverFirst)).toEqual({ ok: false, reason });
  });

  it('accepts a low but valid iteration count', () => {
    expect(scramClientContinue(c1.state, 'pw', 'r=ournonceXYZ,s=QUJD,i=1').ok).toBe(true);
  });
});

describe('unknown login', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');

  it('looks like a real exchange: same shape, stable salt per login, default iterations', () => {
    const c1 = scramClientStart();
    const real = startOk(createScramVerifier('pw'), c1.clientFirst);
    const u1 = scramServerStartUnknown('ghost_abc123', secret, c1.clientFirst);
    const u2 = scramServerStartUnknown('ghost_abc123', secret, c1.clientFirst);
    const u3 = scramServerStartUnknown('other_zzz999', secret, c1.clientFirst);
    if (!u1.ok || !u2.ok || !u3.ok) throw new Error('unknown start failed');
    const shape = (s: string) => s.replace(/=[^,]+/g, (m) => `=${m.length}`).replace(/^r=\d+/, 'r=N');
    expect(shape(u1.serverFirst)).toBe(shape(real.serverFirst));
    const salt = (s: string) => /,s=([^,]+),/.exec(s)![1];
    expect(salt(u1.serverFirst)).toBe(salt(u2.serverFirst));
    expect(salt(u1.serverFirst)).not.toBe(salt(u3.serverFirst));
    expect(u1.serverFirst).toMatch(/,i=4096$/);
    expect(u1.serverFirst).not.toBe(u2.serverFirst); // fresh server nonce each time
  });

  it('always fails, whatever the client sends', () => {
    const c1 = scramClientStart();
    const u = scramServerStartUnknown('ghost_abc123', secret, c1.clientFirst);
    if (!u.ok) throw new Error(u.reason);
    const c2 = scramClientContinue(c1.state, 'anything', u.serverFirst);
    if (!c2.ok) throw new Error(c2.reason);
    expect(scramServerFinish(u.state, c2.clientFinal)).toEqual({ ok: false, reason: 'unknown login' });
  });

  it('rejects malformed client-first the same way a known login does', () => {
    expect(scramServerStartUnknown('x', secret, 'garbage')).toEqual(scramServerStart(rfcVerifier(), 'garbage'));
  });
});
