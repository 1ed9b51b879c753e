// Blast-radius guard for MySQL/MariaDB (rule keys maxRows/maxFraction): a limited write runs between START
// TRANSACTION (or SAVEPOINT) and COMMIT/ROLLBACK of the broker's; the OK packet's affected rows decide.
//
// Defends against a write that touches far more rows than intended, whatever its WHERE looks like: the server's own
// count decides before the client sees the answer. MySQL does not abort a transaction on a statement error, so a
// refusal inside one rolls back to the broker's savepoint and leaves the transaction open, as a server error would.
// Tables that cannot roll back (MyISAM, Aria, MEMORY, … looked up in information_schema) are refused unless the
// table's row count is within the limit. The client gets the same OK packet (status flags as a direct connection
// would show them: no IN_TRANS from the broker's own transaction).
import { randomHex12 } from '../session/random-hex.js';
import { effectiveLimit, rowLimitMessage } from '../session/verdict.js';
import type { Decision, RowLimit } from '../session/verdict.js';
import type { Session } from '../session/session.js';
import type { PendingStatement } from '../session/statement-outcome.js';
import { ErrorCode } from '../errors.js';
import { PacketHeader, ServerStatus } from './codes.js';
import { encodeBrokerErr, encodePacket, firstTextValue, readLenencInt } from './packets.js';
import type { ResponseTracker } from './response-tracker.js';

const TRANSACTIONAL = new Set(['innodb', 'xtradb', 'rocksdb', 'tokudb', 'ndbcluster', 'ndb']);

export interface MysqlRowGuardHost {
  session: Session;
  deprecateEof: boolean;
  /** runs a query of the broker's own; its answer goes to `done` only (payloads), never to the client */
  internal(text: string, done: (packets: Buffer[]) => void): void;
  /** forwards the client's command with its answer held; `done` gets the raw packets and the tracker */
  forwardHeld(raw: Buffer, done: (held: Buffer[], tracker: ResponseTracker, data: boolean[]) => void): void;
  writeClient(buf: Buffer): void;
  /** the reply sequence id of the command being guarded */
  replySeq: number;
  /** status flags of the last answer the client got */
  status(): number;
  resumeClient(): void;
}

/** A limited text that cannot be guarded: uncountable (nested write) or sharing the text with transaction control. */
export function rowLimitRefusal(d: Decision): string | null {
  const rl = d.rowLimit;
  if (!rl) return null;
  if (rl.uncountable) return `dbwarden: blocked by rule ${rl.uncountable.rule}: ${rl.uncountable.why}; nothing was run (run the write on its own to have its rows counted)`;
  if (d.statements.some((s) => s.kind === 'transaction' && !s.nested)) {
    return `dbwarden: blocked by rule ${rl.limits[0]!.rule}: a ${rl.kind} under a row limit cannot share a text with transaction control; send the statements separately`;
  }
  return null;
}

/** onDelete: foreign keys of other tables reference it with a cascading ON DELETE (CASCADE, SET NULL, SET DEFAULT) */
interface TableInfo { engine: string; rows: number; onDelete: boolean; triggers: boolean }

// The session's row writes through the handler layer (triggers and stored functions included; internal temporary
// tables are counted apart, in Handler_tmp_*). Cascading foreign-key actions are not in it.
const HANDLER_ROWS = "SELECT SUM(VARIABLE_VALUE) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN ('HANDLER_WRITE', 'HANDLER_UPDATE', 'HANDLER_DELETE')";

export class MysqlRowGuard {
  private readonly savepoint = `dbwarden_rg_${randomHex12()}`;
  private readonly engines = new Map<string, TableInfo | null>();
  busy = false;

  /** Table facts change with DDL: forget them. */
  invalidate(): void {
    this.engines.clear();
  }

  /** Runs a limited command: `raw` is its packet(s), `pending` its audit statement (completed by the caller's done). */
  run(host: MysqlRowGuardHost, raw: Buffer, limit: RowLimit, pending: PendingStatement | undefined, done: (tracker: ResponseTracker | null) => void): void {
    this.busy = true;
    const finish = (t: ResponseTracker | null) => {
      this.busy = false;
      done(t);
      host.resumeClient();
    };
    const unknown = limit.tables.filter((t) => !this.engines.has(key(t)));
    const go = () => this.guarded(host, raw, limit, pending, finish);
    if (!unknown.length) return go();
    host.internal(lookupQuery(unknown), (packets) => {
      for (const t of unknown) this.engines.set(key(t), null);
      if (packets[0]?.[0] !== PacketHeader.Err) {
        const v = firstTextValue(packets, host.deprecateEof) ?? '';
        for (const line of v.split('`').filter(Boolean)) {
          const [name, engine, rows, onDelete, triggers] = line.split('\t');
          this.engines.set(name!, { engine: (engine ?? '').toLowerCase(), rows: Number(rows) || 0, onDelete: onDelete !== '0', triggers: triggers !== '0' });
        }
      }
      go();
    });
  }

  private guarded(host: MysqlRowGuardHost, raw: Buffer, limit: RowLimit, pending: PendingStatement | undefined, finish: (t: ResponseTracker | null) => void): void {
    const infos = limit.tables.map((t) => ({ table: t, info: this.info(t) }));
    const estimate = Math.max(0, ...infos.map((i) => i.info?.rows ?? 0));
    const lim = effectiveLimit(limit, limit.limits.some((l) => l.maxFraction !== undefined) ? estimate : undefined);
    if (!lim) return void host.forwardHeld(raw, (held, t) => (held.forEach((b) => host.writeClient(b)), finish(t)));
    // INSERT … VALUES calling no function: its rows are in the text; only a trigger can write more (a table not
    // found, info null, is taken as possibly having one)
    if (limit.valuesOnly && infos.every((i) => i.info && !i.info.triggers)) {
      return void host.forwardHeld(raw, (held, t) => (held.forEach((b) => host.writeClient(b)), finish(t)));
    }
    // Defends against ON DELETE/UPDATE CASCADE (and SET NULL / SET DEFAULT) foreign keys: InnoDB changes the child
    // rows below the handler layer, so neither the OK packet nor the session's counters include them (DELETE FROM
    // parent WHERE id = 1 deleting 5,000 child rows reports 1). information_schema.INNODB_TRX's count is a cache
    // refreshed at most every 0.1 s, so it cannot count them either: a DELETE from a table referenced with a
    // cascading ON DELETE is refused before running. Not an UPDATE of a table referenced with ON UPDATE CASCADE:
    // that cascades only when the key itself changes, and refusing every such UPDATE refused ORMs' ordinary updates
    // (Prisma declares ON UPDATE CASCADE by default). An INSERT … SELECT is refused like a DELETE: REPLACE … SELECT
    // deletes the rows it replaces, and the facts do not tell REPLACE from INSERT.
    const cascading = limit.kind !== 'UPDATE' ? infos.find((i) => i.info?.onDelete) : undefined;
    if (cascading) {
      const msg = `dbwarden: blocked by rule ${lim.rule}: this ${limit.kind} writes table ${cascading.table}, which other tables' foreign keys reference with ON DELETE CASCADE / SET NULL / SET DEFAULT; the rows those change are not in the server's count, so it was not run (change the referencing rows first, or ask for an admin grant)`;
      if (pending) host.session.refuseByRows(pending, lim.rule, 0, lim.limit);
      host.writeClient(encodePacket(host.replySeq, encodeBrokerErr(ErrorCode.STATEMENT_BLOCKED, msg)));
      return finish(null);
    }
    const plain = infos.filter((i) => i.info && i.info.engine && !TRANSACTIONAL.has(i.info.engine));
    if (plain.length) {
      // a table that cannot roll back: the count must be known to be within the limit before anything runs
      const bound = Math.max(...plain.map((p) => p.info!.rows));
      if (limit.kind === 'INSERT' || bound > lim.limit) {
        const p = plain[0]!;
        const msg = `${rowLimitMessage(lim.rule, limit.kind, bound, lim.limit).replace(/ would change [\d,]+ rows/, ` could change up to ${bound.toLocaleString('en-US')} rows`)} (table ${p.table} uses ${p.info!.engine.toUpperCase()}, which cannot roll back, so the statement was not run)`;
        if (pending) host.session.refuseByRows(pending, lim.rule, bound, lim.limit);
        host.writeClient(encodePacket(host.replySeq, encodeBrokerErr(ErrorCode.STATEMENT_BLOCKED, msg)));
        return finish(null);
      }
      return void host.forwardHeld(raw, (held, t) => (held.forEach((b) => host.writeClient(b)), finish(t)));
    }
    const status = host.status();
    const begin = (status & ServerStatus.InTrans) === 0 && (status & ServerStatus.Autocommit) !== 0;
    host.internal(begin ? 'START TRANSACTION' : `SAVEPOINT ${this.savepoint}`, () => undefined);
    // Defends against a write whose OK packet counts fewer rows than it changed. Triggers writing other rows and
    // stored functions that write (UPDATE t SET v = f() WHERE id = 1 where f deletes 5,000 rows) are counted by the
    // session's Handler_write/update/delete counters (no privilege needed), read before and after the statement.
    const before = { handler: null as number | null };
    host.internal(HANDLER_ROWS, (packets) => (before.handler = numberAnswer(packets, host.deprecateEof)));
    host.forwardHeld(raw, (held, t, data) => host.internal(HANDLER_ROWS, (hp) => {
      const afterHandler = numberAnswer(hp, host.deprecateEof);
      const byHandler = before.handler === null || afterHandler === null ? null : Math.max(0, afterHandler - before.handler);
      /** rolls the statement back and answers the refusal instead of its result */
      const refuse = (rows: number, message: string) => {
        if (pending) host.session.refuseByRows(pending, lim.rule, rows, lim.limit);
        host.internal(begin ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${this.savepoint}`, () => {
          host.writeClient(encodePacket(held[0]?.[3] ?? host.replySeq, encodeBrokerErr(ErrorCode.STATEMENT_BLOCKED, message)));
          finish(t);
        });
      };
      if (t.errno === 0 && byHandler === null) {
        // trigger and function writes could not be counted: fail closed
        return refuse(t.affected, `dbwarden: blocked by rule ${lim.rule}: this ${limit.kind} could not be counted (the session's Handler_write/update/delete counters, which count trigger and stored-function writes, could not be read); nothing was changed`);
      }
      const changed = Math.max(t.affected, byHandler ?? 0);
      if (t.errno === 0 && changed > lim.limit) {
        const extra = changed > t.affected ? ` (${t.affected.toLocaleString('en-US')} in the statement's own count; the rest by triggers or stored functions)` : '';
        return refuse(changed, rowLimitMessage(lim.rule, limit.kind, changed, lim.limit, extra));
      }
      const release = (fixStatus: boolean) => {
        // Only OK/EOF packets carry status flags: a binary row starts with 0x00 like an OK, and a text row whose first
        // value is empty does too (clearing "their" IN_TRANS bit changed a masked value's first byte, [ to Z)
        held.forEach((b, i) => host.writeClient(fixStatus && !data[i] ? clearInTrans(b, host.deprecateEof) : b));
        finish(t);
      };
      if (begin) {
        host.internal(t.errno ? 'ROLLBACK' : 'COMMIT', (packets) => {
          if (packets[0]?.[0] === PacketHeader.Err) {
            // COMMIT failed: what a direct autocommit statement would have answered
            host.writeClient(encodePacket(held[0]?.[3] ?? host.replySeq, packets[0]));
            return finish(t);
          }
          release(true);
        });
      } else {
        host.internal(`RELEASE SAVEPOINT ${this.savepoint}`, () => release(false));
      }
    }));
  }

  private info(table: string): TableInfo | null {
    return this.engines.get(key(table)) ?? null;
  }
}

function key(t: string): string {
  return t.replace(/`/g, '').toLowerCase();
}

/** One text value: `<table as written><TAB>engine<TAB>rows` per item, items split by a backtick (never in a key: key() removes them; unqualified names: the current database). */
function lookupQuery(tables: string[]): string {
  const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  const parts = tables.map((t) => {
    const k = key(t);
    const p = k.split('.');
    const schema = p.length > 1 ? lit(p[0]!) : 'DATABASE()';
    const cascading = "(SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS rc WHERE rc.UNIQUE_CONSTRAINT_SCHEMA = tb.TABLE_SCHEMA AND rc.REFERENCED_TABLE_NAME = tb.TABLE_NAME AND rc.DELETE_RULE NOT IN ('RESTRICT', 'NO ACTION'))";
    return `SELECT CONCAT(${lit(k)}, CHAR(9), IFNULL(tb.ENGINE, ''), CHAR(9), IFNULL(tb.TABLE_ROWS, 0), CHAR(9), ${cascading}, CHAR(9), (SELECT COUNT(*) FROM information_schema.TRIGGERS tr WHERE tr.EVENT_OBJECT_SCHEMA = tb.TABLE_SCHEMA AND tr.EVENT_OBJECT_TABLE = tb.TABLE_NAME)) AS x FROM information_schema.TABLES tb WHERE tb.TABLE_SCHEMA = ${schema} AND tb.TABLE_NAME = ${lit(p[p.length - 1]!)}`;
  });
  return `SELECT GROUP_CONCAT(x SEPARATOR '\`') FROM (${parts.join(' UNION ALL ')}) AS dbwarden_tables`;
}

/** The number in a one-value answer (HANDLER_ROWS), or null when it could not be read. */
function numberAnswer(packets: Buffer[], deprecateEof: boolean): number | null {
  if (!packets.length || packets[0]![0] === PacketHeader.Err) return null;
  const v = firstTextValue(packets, deprecateEof);
  const n = v === null ? NaN : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The OK/EOF packet with the IN_TRANS flag of the broker's own transaction cleared. */
function clearInTrans(raw: Buffer, _deprecateEof: boolean): Buffer {
  const p = raw.subarray(4);
  let off = -1;
  if (p[0] === PacketHeader.Eof && p.length <= 5) off = 3;
  else if ((p[0] === PacketHeader.Ok && p.length >= 7) || (p[0] === PacketHeader.Eof && p.length >= 7 && p.length < 0xffffff)) {
    try {
      let o = readLenencInt(p, 1)[1];
      o = readLenencInt(p, o)[1];
      off = o;
    } catch {
      return raw;
    }
  }
  if (off < 0 || off + 2 > p.length) return raw;
  const out = Buffer.from(raw);
  out.writeUInt16LE(p.readUInt16LE(off) & ~ServerStatus.InTrans, 4 + off);
  return out;
}
