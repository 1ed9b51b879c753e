// COM_CHANGE_USER: the packet's fields, decoded as a HandshakeResponse41 so the login code can run on it.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_change_user.html
import { DecodeError, HANDSHAKE_LIMITS, cursor, readLoginTail, readShortAuthResponse, type HandshakeResponse } from './packets.js';

/** Reads COM_CHANGE_USER under the capabilities the session negotiated; throws DecodeError on a malformed packet. */
export function decodeChangeUser(p: Buffer, capabilities: number): HandshakeResponse {
  const c = cursor(p, 1);
  const user = c.cstring();
  if (Buffer.byteLength(user) > HANDSHAKE_LIMITS.user) throw new DecodeError('user name too long');
  const authResponse = readShortAuthResponse(c, capabilities);
  let database: string | undefined;
  if (!c.atEnd) {
    database = c.cstring();
    if (Buffer.byteLength(database) > HANDSHAKE_LIMITS.database) throw new DecodeError('database name too long');
  }
  const charset = c.remaining >= 2 ? c.u16le() & 0xff : 0;
  const { authPlugin, attributes } = readLoginTail(c, capabilities);
  return { capabilities, mariadbCapabilities: 0, maxPacketSize: 0, charset, user, authResponse, database: database || undefined, authPlugin, attributes };
}
