// Client-facing TLS material: the configured certificate pair, or a self-signed pair generated once into
// the state folder so that TLS works out of the box (clients that verify must be given the file).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  context: SecureContext;
  /** where the certificate lives, so users can point clients at it */
  certFile: string;
}

export async function loadTlsMaterial(opts: { certFile?: string; keyFile?: string; stateDir: string }): Promise<TlsMaterial> {
  let certFile = opts.certFile;
  let keyFile = opts.keyFile;
  if (!certFile || !keyFile) {
    const dir = join(opts.stateDir, 'certs');
    certFile = join(dir, 'broker.crt');
    keyFile = join(dir, 'broker.key');
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const pems = await selfsigned.generate([{ name: 'commonName', value: 'dbwarden' }], {
        notAfterDate: new Date(Date.now() + 825 * 86_400_000),
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
      });
      // the key is written owner-only: it is what lets someone impersonate the broker
      writeFileSync(keyFile, pems.private, { mode: 0o600 });
      writeFileSync(certFile, pems.cert, { mode: 0o600 });
    }
  }
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  return { cert, key, certFile, context: createSecureContext({ cert, key, minVersion: 'TLSv1.2' }) };
}
