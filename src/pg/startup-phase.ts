// What PostgreSQL answers before a StartupMessage is accepted, copied so the broker looks the same to clients:
// where the server closes without a byte (ProcessStartupPacket's COMMERROR cases), so does the broker.
import { BrokerError, ErrorCode } from '../errors.js';

/**
 * The connection is closed without an answer, as PostgreSQL does for an invalid startup packet length (a
 * Terminate sent before the StartupMessage reads as one: node-postgres does this on connect() + end()), for a
 * startup packet cut short by the peer, and for a client too slow to send one (authentication_timeout).
 */
export class SilentClose extends BrokerError {
  constructor(message: string) {
    super(ErrorCode.PROTOCOL_VIOLATION, message);
  }
}

/** PostgreSQL's limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET_LENGTH = 10_000;

/** PostgreSQL's wording for a StartupMessage whose parameter list lacks its final NUL. */
export const BAD_STARTUP_LAYOUT = 'invalid startup packet layout: expected terminator as last byte';

/** PostgreSQL's wording for a protocol version it does not speak (3.0 is the only one the broker speaks). */
export function unsupportedProtocol(major: number, minor: number): string {
  return `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`;
}

/**
 * A client that asked for protocol 1.x or 2.x reads errors in the pre-3.0 format: 'E', then the text with its
 * severity, newline-terminated, NUL-terminated. PostgreSQL answers such a client this way, so does the broker.
 */
export function encodeOldStyleFatal(message: string): Buffer {
  return Buffer.concat([Buffer.from('E'), Buffer.from(`FATAL:  ${message}\n\0`, 'utf8')]);
}
