// Follows one command's response from the upstream packet by packet, reading only what it must (first
// bytes, OK/EOF status flags), so the relay knows where the response ends without buffering rows.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response.html
import { BrokerError, ErrorCode } from '../errors.js';
import { MAX_PACKET_PAYLOAD, PacketHeader, ServerStatus } from './codes.js';
import type { Disposition } from './framer.js';
import { decodeStatus, readLenencInt } from './packets.js';

/** The shape of response a command gets. */
export type ResponseKind =
  | 'result' // COM_QUERY, COM_STMT_EXECUTE, COM_STMT_BULK_EXECUTE: OK | ERR | result sets, possibly several
  | 'prepare' // COM_STMT_PREPARE: COM_STMT_PREPARE_OK then parameter and column definitions
  | 'rows' // COM_STMT_FETCH: rows then a terminator
  | 'fields' // COM_FIELD_LIST: column definitions then a terminator
  | 'single'; // one packet: OK, ERR, EOF or a string (COM_STATISTICS)

const Phase = {
  first: 0, // the first packet of a result: OK, ERR, LOCAL INFILE request or a column count
  defs: 1, // column definitions still to come
  defsEof: 2, // the EOF after column definitions (without CLIENT_DEPRECATE_EOF)
  rows: 3, // rows until a terminator
  counted: 4, // a known number of packets still to come (prepare)
  done: 5, // the response is complete
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** What the packet last passed to packet() was, for a row masker following the response. */
export type PacketRole =
  | 'count' // the column count that starts a result set
  | 'column' // a column definition of a result set
  | 'row' // a result row (only seen when rows are fetched)
  | 'end' // the OK or EOF that ends one result of a COM_QUERY / COM_STMT_EXECUTE (another may follow)
  | 'other'; // OK, ERR, EOF, prepare definitions, COM_FIELD_LIST definitions

export class ResponseTracker {
  private phase: Phase;
  private left = 0;
  /** status flags of the last OK/EOF seen */
  status = -1;
  /** true once any packet of the response went by */
  started = false;
  /** rows of the result set in progress are fetched (to be rewritten) instead of streamed */
  fetchRows = false;
  /**
   * A COM_STMT_EXECUTE that asked for a cursor: only then does CURSOR_EXISTS mean its rows come later with
   * COM_STMT_FETCH. A stored procedure that opens a cursor of its own sets the flag in a plain CALL's result too, whose
   * rows still follow (read as the end of the response, the next packets desynchronised the connection).
   */
  cursors = false;
  role: PacketRole = 'other';
  /** affected rows summed over the response's OK packets (the audit `rows` of a write; the row guard's count) */
  affected = 0;
  /** result-set rows that went by (counted from packet headers, nothing read per row) */
  rows = 0;
  /** errno of an ERR that ended the response */
  errno = 0;

  constructor(readonly kind: ResponseKind, private readonly deprecateEof: boolean) {
    this.phase = kind === 'rows' || kind === 'fields' ? Phase.rows : Phase.first;
  }

  get done(): boolean {
    return this.phase === Phase.done;
  }

  /** Decides on a packet from its first byte and length: rows stream through, everything else is read whole. */
  start(first: number, length: number): Disposition {
    this.started = true;
    if (this.phase === Phase.rows && this.kind !== 'fields') {
      const terminator = (first === PacketHeader.Eof && length < MAX_PACKET_PAYLOAD) || first === PacketHeader.Err;
      if (!terminator) this.rows++;
      return terminator || this.fetchRows ? 'fetch' : 'send';
    }
    return 'fetch';
  }

  /** Advances on a fetched packet; true when the response is complete. */
  packet(p: Buffer): boolean {
    const first = p.length ? p[0]! : -1;
    this.role = 'other';
    switch (this.phase) {
      case Phase.first:
        if (this.kind === 'single') {
          if (first === PacketHeader.Ok || (first === PacketHeader.Eof && p.length < 9)) {
            try {
              this.status = decodeStatus(p).status;
            } catch {
              // COM_STATISTICS answers with a plain string that may start with any byte
            }
          }
          return this.finish();
        }
        if (first === PacketHeader.Err) return this.finish(p);
        if (first === PacketHeader.Ok) {
          if (this.kind === 'prepare') {
            if (p.length < 9) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'short COM_STMT_PREPARE_OK');
            const columns = p.readUInt16LE(5);
            const params = p.readUInt16LE(7);
            const eofs = this.deprecateEof ? 0 : (columns > 0 ? 1 : 0) + (params > 0 ? 1 : 0);
            this.left = columns + params + eofs;
            if (this.left === 0) return this.finish();
            this.phase = Phase.counted;
            return false;
          }
          return this.terminated(p);
        }
        if (first === PacketHeader.LocalInfile) {
          // CLIENT_LOCAL_FILES is never negotiated: a server asking for a client file is not one to trust
          throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'upstream requested a LOCAL INFILE transfer');
        }
        if (this.kind === 'prepare') throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'unexpected answer to COM_STMT_PREPARE');
        this.left = readLenencInt(p, 0)[0];
        if (this.left <= 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'invalid column count');
        this.phase = Phase.defs;
        this.role = 'count';
        this.fetchRows = false;
        return false;
      case Phase.defs:
        if (first === PacketHeader.Err) return this.finish(p);
        this.role = 'column';
        if (--this.left === 0) this.phase = this.deprecateEof ? Phase.rows : Phase.defsEof;
        return false;
      case Phase.defsEof: {
        if (first === PacketHeader.Err) return this.finish(p);
        const { status } = decodeStatus(p);
        this.status = status;
        // a cursor was opened (COM_STMT_EXECUTE with a cursor flag): rows come with COM_STMT_FETCH
        if (this.cursors && status & ServerStatus.CursorExists) return this.finish();
        this.phase = Phase.rows;
        return false;
      }
      case Phase.rows:
        if (first === PacketHeader.Err) return this.finish(p);
        if (first === PacketHeader.Eof && p.length < MAX_PACKET_PAYLOAD) return this.terminated(p);
        if (this.kind !== 'fields') this.role = 'row';
        return false; // a row, or a column definition of COM_FIELD_LIST
      case Phase.counted:
        if (first === PacketHeader.Err) return this.finish(p);
        if (--this.left === 0) return this.finish();
        return false;
      default:
        throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'packet after the end of a response');
    }
  }

  /** An OK or EOF that ends a result: another result follows when the server says so. */
  private terminated(p: Buffer): boolean {
    if (p[0] === PacketHeader.Ok && this.kind === 'result') this.affected += readLenencInt(p, 1)[0];
    const { status } = decodeStatus(p);
    this.status = status;
    this.role = 'end';
    if (this.kind === 'result' && status & ServerStatus.MoreResultsExist && !(this.cursors && status & ServerStatus.CursorExists)) {
      this.phase = Phase.first;
      return false;
    }
    return this.finish();
  }

  private finish(p?: Buffer): boolean {
    if (p && p[0] === PacketHeader.Err && p.length >= 3) this.errno = p.readUInt16LE(1);
    this.phase = Phase.done;
    return true;
  }
}
