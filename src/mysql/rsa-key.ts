// The broker's RSA key pair for caching_sha2_password full authentication without TLS: generated once per
// process (on first use) and never written anywhere, so a stolen disk yields no key.
import { generateKeyPair } from 'node:crypto';

export interface RsaKeyPair {
  publicKey: string;
  privateKey: string;
}

let pair: Promise<RsaKeyPair> | undefined;

export function rsaKeyPair(): Promise<RsaKeyPair> {
  pair ??= new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })),
    );
  });
  return pair;
}
