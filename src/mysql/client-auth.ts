// Client authentication against a grant's stored verifiers: caching_sha2_password (fast path from
// SHA256(SHA256(pw)); full path with the password over TLS or RSA-encrypted), mysql_native_password, and the
// AuthSwitchRequest that moves a client to a plugin the broker accepts.
//
// Defends against: password guessing that tells logins apart (an unknown login runs the same exchange and
// fails the same way) and sniffing (the password itself is only accepted over TLS or RSA).
import { cachingSha2Check, cachingSha2CheckCleartext, rsaDecryptPassword } from '../auth/caching-sha2-password.js';
import { nativeCheck } from '../auth/mysql-native-password.js';
import type { Verifiers } from '../grants/model.js';
import { AuthPlugin, Capability, Sha2Code } from './codes.js';
import type { PacketReader } from './packet-reader.js';
import { encodeAuthMoreData, encodeAuthSwitchRequest, type HandshakeResponse } from './packets.js';
import type { RsaKeyPair } from './rsa-key.js';

export type ServerAuthPlugin = typeof AuthPlugin.CachingSha2 | typeof AuthPlugin.Native;

export interface ClientAuthOptions {
  /** plugins the broker accepts; the first is announced in HandshakeV10 and used for AuthSwitchRequest */
  plugins: ServerAuthPlugin[];
  /**
   * caching_sha2_password: always run the full path (password over TLS or RSA), as a MySQL server does for an
   * account not in its cache. Off by default: the stored verifier is enough for the fast path.
   */
  fullAuth: boolean;
}

export interface AuthIo {
  reader: PacketReader;
  /** writes one packet with the next sequence id */
  send(payload: Buffer): void;
  secure: boolean;
  scramble: Buffer;
  rsa(): Promise<RsaKeyPair>;
}

export interface AuthOutcome {
  ok: boolean;
  /** for the 1045 message: "(using password: YES|NO)" */
  passwordGiven: boolean;
  plugin: string;
}

const withNul = (b: Buffer) => Buffer.concat([b, Buffer.from([0])]);

export async function authenticateClient(io: AuthIo, resp: HandshakeResponse, verifiers: Verifiers | undefined, opts: ClientAuthOptions): Promise<AuthOutcome> {
  // clients without CLIENT_PLUGIN_AUTH speak mysql_native_password (4.1 secure connection)
  let plugin = resp.capabilities & Capability.PluginAuth ? resp.authPlugin ?? '' : AuthPlugin.Native;
  let data = resp.authResponse;
  if (!(opts.plugins as string[]).includes(plugin)) {
    if (!(resp.capabilities & Capability.PluginAuth)) return { ok: false, passwordGiven: data.length > 0, plugin };
    plugin = opts.plugins[0]!;
    io.send(encodeAuthSwitchRequest(plugin, withNul(io.scramble)));
    data = (await io.reader.read(30_000, io.reader.nextSeq)).payload;
  }
  const passwordGiven = data.length > 0;
  if (plugin === AuthPlugin.Native) {
    return { ok: !!verifiers && data.length > 0 && nativeCheck(verifiers.mysqlNative, io.scramble, data), passwordGiven, plugin };
  }
  // grant passwords are never empty: an empty answer cannot succeed, and the full path would only add a round trip
  if (data.length === 0) return { ok: false, passwordGiven, plugin };
  if (!opts.fullAuth) {
    const ok = !!verifiers && cachingSha2Check(verifiers.cachingSha2, io.scramble, data);
    if (ok) io.send(encodeAuthMoreData(Buffer.from([Sha2Code.FastAuthSuccess])));
    return { ok, passwordGiven, plugin };
  }
  io.send(encodeAuthMoreData(Buffer.from([Sha2Code.PerformFullAuthentication])));
  let p = (await io.reader.read(30_000, io.reader.nextSeq)).payload;
  let password: string | undefined;
  if (io.secure) {
    const end = p.indexOf(0);
    password = p.toString('utf8', 0, end < 0 ? p.length : end);
  } else {
    const keys = await io.rsa();
    if (p.length === 1 && p[0] === Sha2Code.RequestPublicKey) {
      io.send(encodeAuthMoreData(Buffer.from(keys.publicKey)));
      p = (await io.reader.read(30_000, io.reader.nextSeq)).payload;
    }
    // a client that already had the key sends the ciphertext directly; a cleartext password without TLS never
    // decrypts, so it is refused rather than accepted off an eavesdroppable wire
    password = rsaDecryptPassword(keys.privateKey, p, io.scramble);
  }
  const ok = !!verifiers && password !== undefined && cachingSha2CheckCleartext(verifiers.cachingSha2, password);
  return { ok, passwordGiven, plugin };
}
