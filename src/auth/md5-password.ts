// PostgreSQL's md5 password scheme (AuthenticationMD5Password), client side: we answer an upstream that asks for it.
//
// md5 is weak (the stored form is a password equivalent); the broker never offers it to clients and only
// speaks it to upstreams configured that way.
import { createHash } from 'node:crypto';

function md5hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** What PostgreSQL stores in pg_authid: 'md5' + md5hex(password + user). */
export function md5StoredPassword(password: string, user: string): string {
  return `md5${md5hex(password + user)}`;
}

/** The PasswordMessage answer to a 4-byte salt, computed from a stored form ('md5' + 32 hex). */
export function md5SaltedFromStored(stored: string, salt: Buffer): string {
  if (!/^md5[0-9a-f]{32}$/.test(stored)) throw new Error('not an md5 stored password');
  if (salt.length !== 4) throw new Error('md5 salt must be 4 bytes');
  return `md5${md5hex(Buffer.concat([Buffer.from(stored.slice(3), 'ascii'), salt]))}`;
}

/** The PasswordMessage answer: 'md5' + md5hex(md5hex(password + user) + salt). */
export function md5Password(password: string, user: string, salt: Buffer): string {
  return md5SaltedFromStored(md5StoredPassword(password, user), salt);
}
