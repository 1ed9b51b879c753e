// COM_CHANGE_USER: the packet's fields, decoded as a HandshakeResponse41 so the login code can run on it.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_change_user.html
import { Capability } from './codes.js';
import { DecodeError, HANDSHAKE_LIMITS, readLenencBytes, readLenencInt, readNulString, readShortAuthResponse, type HandshakeResponse } from './packets.js';

/** Reads COM_CHANGE_USER under the capabilities the session negotiated; throws DecodeError on a malformed packet. */
export function decodeChangeUser(p: Buffer, capabilities: number): HandshakeResponse {
  let [user, off] = readNulString(p, 1);
  if (Buffer.byteLength(user) > HANDSHAKE_LIMITS.user) throw new DecodeError('user name too long');
  let authResponse: Buffer;
  [authResponse, off] = readShortAuthResponse(p, off, capabilities);
  let database: string | undefined;
  if (off < p.length) {
    [database, off] = readNulString(p, off);
    if (Buffer.byteLength(database) > HANDSHAKE_LIMITS.database) throw new DecodeError('database name too long');
  }
  let charset = 0;
  if (off + 2 <= p.length) {
    charset = p.readUInt16LE(off) & 0xff;
    off += 2;
  }
  let authPlugin: string | undefined;
  if (capabilities & Capability.PluginAuth && off < p.length) {
    const end = p.indexOf(0, off);
    authPlugin = p.toString('utf8', off, end < 0 ? p.length : end);
    if (authPlugin.length > HANDSHAKE_LIMITS.plugin) throw new DecodeError('auth plugin name too long');
    off = end < 0 ? p.length : end + 1;
  }
  const attributes = new Map<string, string>();
  if (capabilities & Capability.ConnectAttrs && off < p.length) {
    const [total, o] = readLenencInt(p, off);
    if (total > HANDSHAKE_LIMITS.attributes || o + total > p.length) throw new DecodeError('connection attributes past the end of the packet');
    let a = o;
    while (a < o + total) {
      const [k, a1] = readLenencBytes(p, a);
      const [v, a2] = readLenencBytes(p, a1);
      attributes.set(k.toString('utf8'), v.toString('utf8'));
      a = a2;
    }
  }
  return { capabilities, mariadbCapabilities: 0, maxPacketSize: 0, charset, user, authResponse, database: database || undefined, authPlugin, attributes };
}
