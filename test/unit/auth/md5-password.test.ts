// PostgreSQL md5 password answers, checked against what PostgreSQL itself computes.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5Password, md5SaltedFromStored, md5StoredPassword } from '../../../src/auth/md5-password.js';

// psql -h 127.0.0.1 -U postgres -Atc "select 'md5'||md5('secret'||'bob')"
const PG_STORED_SECRET_BOB = 'md521f3163f8f86fa10bdefbfbd502a8f06';

describe('md5 password', () => {
  it('stored form matches PostgreSQL', () => {
    expect(md5StoredPassword('secret', 'bob')).toBe(PG_STORED_SECRET_BOB);
  });

  it('salted answer is md5(hex of stored + salt bytes)', () => {
    const salt = Buffer.from([0x01, 0xfe, 0x00, 0x7f]);
    const expected = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(PG_STORED_SECRET_BOB.slice(3)), salt])).digest('hex');
    expect(md5Password('secret', 'bob', salt)).toBe(expected);
    expect(md5SaltedFromStored(PG_STORED_SECRET_BOB, salt)).toBe(expected);
    expect(md5Password('secret', 'bob', Buffer.from([1, 2, 3, 4]))).not.toBe(expected);
    expect(md5Password('secret', 'bob', salt)).toMatch(/^md5[0-9a-f]{32}$/);
  });

  it('refuses a wrong salt length or stored form', () => {
    expect(() => md5Password('secret', 'bob', Buffer.alloc(3))).toThrow(/4 bytes/);
    expect(() => md5SaltedFromStored('SCRAM-SHA-256$…', Buffer.alloc(4))).toThrow(/md5/);
  });
});
