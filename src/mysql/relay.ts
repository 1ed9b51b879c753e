// The relay between an authenticated MySQL client and its upstream: forwards packets as they lie, decides
// every COM_QUERY / COM_STMT_PREPARE, answers refused commands itself in response order, follows each
// response to its end, rewrites result rows where mask rules apply, and ends the session at a packet boundary
// when told.
import { Outbox } from '../wire/outbox.js';
import { executeValues, valueSensitive } from './bind-values.js';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { attachRelay, holdUntilDrained } from '../wire/pipe.js';
import { ENDING_GRACE, runEnding } from '../wire/ending.js';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { refusalOf, refuses, type Decision, type RowLimit } from '../session/verdict.js';
import type { ReadOptions } from '../sql/facts.js';
import type { Session, TerminationReason } from '../session/session.js';
import { databaseNotGranted } from '../session/admission.js';
import { Capability, Command, CommandName, MAX_PACKET_PAYLOAD, PARSE_ERRNOS, PacketHeader, ServerStatus } from './codes.js';
import { PacketScanner, type Disposition } from './framer.js';
import { encodeBrokerErr, encodeComQuery, encodeOk, encodePacket, firstTextValue } from './packets.js';
import { NamedPrepares } from './named-prepares.js';
import { ResponseTracker, type ResponseKind } from './response-tracker.js';
import { viewColumnMask } from '../session/mysql-schema.js';
import type { ResultMasker, StatementMasking } from './row-masker.js';
import { MysqlMaskTracker } from './mask-tracker.js';
import type { ThreadIds } from './thread-ids.js';
import { applyKillEdits, KILL_UNLOCATABLE, planKills } from './kill-plan.js';
import { LOCAL_INFILE_REFUSAL, readsClientFile } from './local-infile.js';
import { MysqlRowGuard, rowLimitRefusal, type MysqlRowGuardHost } from './row-guard.js';
import type { PendingStatement } from '../session/statement-outcome.js';
import { MysqlReadingState } from './reading-state.js';
import { READING_PROBE, splitReadingProbe } from './upstream-connection.js';

const PREPARED_BARRIER = 'dbwarden: a statement that changes how later text is read (SET sql_mode, NAMES, CHARACTER SET, character_set_client) cannot be prepared through the broker: it would apply at each execute, where the broker cannot follow it; send it as a plain query';

export interface MysqlRelayOptions {
  metrics: Metrics;
  maxQueryBytes: number;
  capabilities: number;
  /** the login and host for MySQL-style access-denied messages */
  login: string;
  host: string;
  serverVersion: string;
  sqlMode: string;
  /** character_set_client as the upstream reported it after login */
  clientCharset?: string;
  threads: ThreadIds;
  /** interrupts the statement running upstream (side connection running KILL QUERY) */
  killQuery(): Promise<unknown>;
  /** key of the `hash` mask (stable across restarts when the broker keeps it in its state dir) */
  maskHashKey?: Buffer;
  /** COM_CHANGE_USER: the relay has stopped and hands over the packet's payload (absent: the command is refused) */
  changeUser?(payload: Buffer): void;
}

/** The core's refusal text (session/verdict.ts); MySQL has no hint field, so a review's hint follows in brackets. */
export function refusalMessage(decision: Decision): string {
  const r = refusalOf(decision);
  return r.hint ? `${r.message} (${r.hint})` : r.message;
}

/** "10.11.5-MariaDB-…" (or MariaDB's "5.5.5-10.11.5-MariaDB" form) → 101105, for /*!NNNNN gates. */
export function versionNumber(version: string): number {
  const m = /^(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 0;
}

const QUIT = encodePacket(0, Buffer.from([Command.Quit]));
/** Used when the broker was not given a key: hashes are then stable for this process only. */
const PROCESS_MASK_KEY = randomBytes(32);
/** COM_STMT_EXECUTE's statement id meaning "the statement prepared last" (MariaDB). */
const LAST_PREPARED = 0xffffffff;

interface Pending {
  /** upstream: forwarded, the client gets the upstream's answer; local: the broker answers; internal: the broker's own query */
  kind: 'upstream' | 'local' | 'internal';
  /** sequence id of the first answer packet */
  replySeq: number;
  tracker?: ResponseTracker;
  /** local: the answer's payload */
  reply?: Buffer;
  command: number;
  /** internal: the answer's packets */
  collected?: Buffer[];
  onDone?(entry: Pending): void;
  /** rewrites the response's rows when masks are in force */
  masker?: ResultMasker;
  /** COM_STMT_PREPARE: what its executions' results are masked by, recorded under the statement id */
  prepared?: StatementMasking[];
  /** COM_STMT_EXECUTE: the statement id (a cursor it opens keeps its columns for COM_STMT_FETCH) */
  stmtId?: number;
  /** the audit statement this response completes */
  stmt?: PendingStatement;
  /** COM_STMT_PREPARE: the row limit its executions run under */
  rowLimit?: RowLimit;
  /** the row guard holds this answer until the count is known */
  held?: Buffer[];
  /** per held packet: true for result data (a column definition or a row), which carries no status flags */
  heldData?: boolean[];
  /** COM_STMT_PREPARE on a read grant: its text and the stored functions its decision trusted */
  trusted?: { text: string; names: string[] };
  /** COM_STMT_EXECUTE asking for a cursor (see ResponseTracker.cursors) */
  cursors?: boolean;
  /** COM_STMT_PREPARE of a write whose parameter decides what its condition matches: its text (bind-values.ts) */
  valueSensitive?: string;
}

export class MysqlRelay {
  private readonly clientScanner: PacketScanner;
  private readonly upstreamScanner: PacketScanner;
  private readonly queue: Pending[] = [];
  private readonly deprecateEof: boolean;
  private readOpts: ReadOptions;
  /** client character set and unconfirmed reading barriers */
  private readonly reading: MysqlReadingState;
  private ending: { code: ErrorCode; message: string } | null = null;
  private closed = false;
  private clientBytes = 0;
  private upstreamBytes = 0;
  private endingRun: { finish(cut: boolean): void } | null = null;
  /** the last unsolicited upstream packet was an ERR: the server said why it is closing, the client has it */
  private lastUpstreamFatal = false;
  private replySeqGuess = -1;
  /** how the results of texts, prepared statements and cursors are masked (mysql/mask-tracker.ts) */
  private readonly masks: MysqlMaskTracker;
  /** SQL-level PREPARE name FROM '…' statements of this session (EXECUTE name is decided as what it runs) */
  private readonly namedPrepares = new NamedPrepares();
  private lastPrepared = LAST_PREPARED;
  /**
   * Rewritten rows can take fewer or more physical packets than the originals (a row of 16 MiB or more): the
   * client's sequence ids then run this far from the upstream's until the response ends.
   */
  private seqShift = 0;
  private detachSockets?: () => void;
  /** sequence id of the upstream packet being handled, while it has not reached the client; -1 otherwise */
  private heldSeq = -1;
  private readonly rowGuard: MysqlRowGuard | null;
  /** prepared statement id → row limit of its text */
  private readonly preparedLimits = new Map<number, RowLimit>();
  /**
   * Read grants: prepared statements whose decision trusted stored functions, by statement id. Each execution is
   * decided again after the functions are checked against the live catalog (a function replaced between the
   * prepare and an execution would otherwise run under the old verdict).
   */
  private readonly trustedPrepared = new Map<number, { text: string; names: string[] }>();
  /** prepared writes read again with each execution's values (bind-values.ts): text, parameter count, last types */
  private readonly valueSensitivePrepared = new Map<number, { text: string; params: number; types: number[] | null; longData?: boolean }>();
  /** status flags of the last answer (the row guard needs to know whether a transaction is open) */
  private lastStatus: number = ServerStatus.Autocommit;
  /** client bytes that arrived while the row guard waits for the server's count */
  private clientQueue: Buffer[] = [];

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly session: Session,
    private readonly opts: MysqlRelayOptions,
  ) {
    this.clientOut = new Outbox(client);
    this.deprecateEof = (opts.capabilities & Capability.DeprecateEof) !== 0;
    this.readOpts = { serverVersion: versionNumber(opts.serverVersion), mariadb: /mariadb/i.test(opts.serverVersion) };
    this.applySqlMode(opts.sqlMode);
    this.reading = new MysqlReadingState(opts.clientCharset || 'utf8mb4');
    // a COM_QUERY may be up to maxQueryBytes of text plus its command byte
    this.clientScanner = new PacketScanner(opts.maxQueryBytes + 1, {
      onStart: (seq, len, first) => this.onClientStart(seq, len, first),
      onForward: (b) => this.upstream.write(b),
      onPacket: (payload, raw) => this.onClientPacket(payload, raw),
    });
    this.upstreamScanner = new PacketScanner(64 << 20, {
      onStart: (seq, len, first) => this.onUpstreamStart(seq, len, first),
      onForward: (b) => this.clientOut.write(b),
      onPacket: (payload, raw, seq) => this.onUpstreamPacket(payload, raw, seq),
    });
    session.partials?.attach((message) => this.beginEnd(ErrorCode.PROTOCOL_VIOLATION, message));
    this.rowGuard = session.guard.hasRowLimits ? new MysqlRowGuard() : null;
    this.masks = new MysqlMaskTracker({
      masks: () => session.guard.masks,
      // view columns masked by what their definitions read (session/mysql-schema.ts), when the session traces them
      views: () => {
        const schema = session.mysqlSchema;
        if (!schema) return undefined;
        const masks = session.guard.masks;
        return (db, table, column) => viewColumnMask(schema(), masks, db, table, column);
      },
      hashKey: opts.maskHashKey ?? PROCESS_MASK_KEY,
    });
    session.control = {
      terminate: (_reason: TerminationReason, message: string) => this.beginEnd(ErrorCode.SESSION_TERMINATED, message),
      // MySQL has no asynchronous notice; expiry warnings are audited and logged only
      notice: (message: string) => this.session.log.info({ notice: message }, 'notice not deliverable over MySQL'),
      cancel: () => void this.cancelRunning(),
    };
  }

  start(clientRest: Buffer, upstreamRest: Buffer): void {
    this.detachSockets = attachRelay(this.client, this.upstream, {
      onClientData: (chunk) => this.onClientData(chunk),
      onUpstreamData: (chunk) => this.onUpstreamData(chunk),
      onClientClose: () => this.onClientClose(),
      onUpstreamClose: () => this.onUpstreamClose(),
    }, clientRest, upstreamRest);
  }

  /** Statements are read as the server reads them: sql_mode changes quoting and escapes. */
  private applySqlMode(mode: string): void {
    const flags = new Set(mode.toUpperCase().split(',').map((s) => s.trim()));
    this.readOpts = { ...this.readOpts, ansiQuotes: flags.has('ANSI_QUOTES') || flags.has('ANSI'), noBackslashEscapes: flags.has('NO_BACKSLASH_ESCAPES'),
      // without a strict flag a narrowing column change cuts values silently (sql/effect-mysql.ts)
      relaxedSqlMode: !(flags.has('STRICT_TRANS_TABLES') || flags.has('STRICT_ALL_TABLES') || flags.has('TRADITIONAL')) };
  }

  // ---- client → upstream ----

  private onClientData(chunk: Buffer): void {
    if (this.ending || this.closed) return;
    if (this.rowGuard?.busy || this.checking || this.clientQueue.length) {
      // the next command waits for the guarded one's COMMIT/ROLLBACK
      this.clientQueue.push(chunk);
      this.client.pause();
      return;
    }
    this.clientBytes += chunk.length;
    this.upstream.cork();
    this.client.cork();
    try {
      this.clientScanner.push(chunk);
    } catch (e) {
      const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
      this.session.log.info({ err: err.message }, 'client protocol error');
      this.beginEnd(err.code, `dbwarden: ${err.message}`);
    } finally {
      this.upstream.uncork();
      this.client.uncork();
    }
    this.trackPartials();
    // backpressure: stop reading the client while the upstream cannot take more
    holdUntilDrained(this.client, this.upstream, () => !this.ending);
    if (this.clientBytes > 1 << 20) this.flushByteCounters();
  }

  private onClientStart(seq: number, _len: number, first: number): Disposition {
    // answers start one past the command's last packet; for a command still streaming in, that is a guess the
    // upstream's first answer packet corrects
    this.replySeqGuess = (seq + 1) & 0xff;
    // every command starts a new exchange at sequence id 0; anything else means the client lost its framing
    if (seq !== 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `packets out of order: a command must start with sequence id 0, got ${seq}`);
    switch (first) {
      case Command.Query:
      case Command.StmtPrepare:
      case Command.InitDb:
      case Command.Quit:
        return 'fetch';
      case Command.StmtExecute:
      case Command.StmtBulkExecute:
        // with masks in force the statement id decides how the result is masked: read it (and its row limit, whether
        // it trusted stored functions, whether its values decide what its condition matches)
        if (this.masking || this.rowGuard || this.trustedPrepared.size || this.valueSensitivePrepared.size) return 'fetch';
        this.expect('result', first);
        return 'send';
      case Command.StmtClose:
        return this.masking || this.trustedPrepared.size || this.valueSensitivePrepared.size ? 'fetch' : 'send'; // no answer
      case Command.StmtSendLongData:
        // a value sent ahead of COM_STMT_EXECUTE is not in it: read which statement it is for
        return this.valueSensitivePrepared.size ? 'fetch' : 'send'; // no answer
      case Command.StmtFetch:
        if (this.masking) return 'fetch';
        this.expect('rows', first);
        return 'send';
      case Command.FieldList:
        this.expect('fields', first);
        return 'send';
      case Command.ResetConnection:
        return 'fetch';
      case Command.Ping:
      case Command.Statistics:
      case Command.SetOption:
      case Command.StmtReset:
        this.expect('single', first);
        return 'send';
      case Command.ChangeUser:
        if (this.opts.changeUser) return 'fetch';
        this.reply(first, ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: COM_CHANGE_USER is not supported through the broker; connect again with the other login');
        return 'skip';
      case Command.ProcessKill:
        this.reply(first, ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: COM_PROCESS_KILL is not supported through the broker; use KILL QUERY <thread id>');
        return 'skip';
      default:
        // replication, shutdown, debug, CREATE/DROP DB as commands…: nothing the rules could see, so nothing passes
        this.reply(first, ErrorCode.UNKNOWN_COMMAND, `dbwarden: ${CommandName[first] ?? `command 0x${first.toString(16)}`} is not supported through the broker`);
        return 'skip';
    }
  }

  /** a command waits for its stored functions to be checked against the live catalog (functionCheck) */
  private checking = false;

  /**
   * A read grant's text that reaches stored functions waits for a catalog snapshot read after it arrived, so it is
   * decided by their current definitions (DROP + CREATE FUNCTION by another connection moments before). Commands
   * after it wait too (the scanner is paused), in order.
   */
  private functionCheck(payload: Buffer, raw: Buffer): boolean {
    const cmd = payload[0];
    let wait: Promise<void> | undefined;
    // a text sent before the server answered the reading probe after a barrier waits for that answer, then goes
    // through every check as if it had just arrived (the probe may also end the session: an unreadable sql_mode)
    const afterProbe = (cmd === Command.Query || cmd === Command.StmtPrepare) && this.reading.unconfirmed;
    if (afterProbe) wait = this.reading.confirmed();
    else if (!this.session.checksFunctions) return false;
    else if (cmd === Command.StmtExecute || cmd === Command.StmtBulkExecute) {
      const t = payload.length >= 5 ? this.trustedPrepared.get(this.stmtId(payload)) : undefined;
      wait = t ? this.session.functionCatalog?.revalidate?.(t.names) : undefined;
    } else if (cmd === Command.Query || cmd === Command.StmtPrepare) {
      const r = this.reading.decode(payload, 1);
      // the statement's own decision (decideText) reads the same bytes: decoded once
      this.decodedAhead = { payload, r };
      wait = r.ok ? this.session.functionCheck(r.text, this.reading.readOptions(this.readOpts), (facts, read) => this.namedPrepares.expand(facts, read)) : undefined;
    }
    if (!wait) return false;
    this.checking = true;
    this.clientScanner.pause();
    this.client.pause();
    const heldPayload = Buffer.from(payload);
    const heldRaw = Buffer.from(raw);
    const go = () => {
      this.checking = false;
      if (this.closed || this.ending) return;
      this.upstream.cork();
      this.client.cork();
      try {
        // paused again by a function check the packet now waits for: that check resumes the scanner
        this.onClientPacket(heldPayload, heldRaw, !afterProbe);
        if (!this.checking) this.clientScanner.resume();
      } catch (e) {
        const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
        this.beginEnd(err.code, `dbwarden: ${err.message}`);
      } finally {
        this.upstream.uncork();
        this.client.uncork();
      }
      if (!this.checking) this.resumeClient();
    };
    void wait.then(go, go);
    return true;
  }

  private onClientPacket(payload: Buffer, raw: Buffer, checked = false): void {
    if (!checked && this.functionCheck(payload, raw)) return;
    // a fetched command is complete: its last packet's sequence id is known
    this.replySeqGuess = -1;
    const cmd = payload[0]!;
    switch (cmd) {
      case Command.Query: {
        const { text, d: early, barrier } = this.decideText(payload);
        const d = early ?? this.session.decideExpanded(text, this.reading.readOptions(this.readOpts), (facts, read) => this.namedPrepares.expand(facts, read), this.inspect(barrier));
        if (refuses(d, this.masking)) {
          if (d.action === 'mask') this.session.refuseLast(d.rules[0]?.id ?? 'unknown');
          return this.refuse(cmd, d, payload, early === null);
        }
        // a USE of a database outside the grant (the facts name it, version comments included) is refused like COM_INIT_DB
        const db = this.ungrantedUse(d);
        if (db !== undefined) {
          this.session.refuseLast('database-scope');
          return this.reply(cmd, ErrorCode.DATABASE_NOT_GRANTED, this.dbDenied(db));
        }
        if (readsClientFile(d.statements)) {
          this.session.refuseLast('local-infile');
          return this.reply(cmd, LOCAL_INFILE_REFUSAL.code, LOCAL_INFILE_REFUSAL.message);
        }
        const kill = planKills(text, d.statements, this.session, this.opts.threads);
        if (kill.kind === 'refuse') {
          this.session.refuseLast('kill-ownership');
          return this.reply(cmd, kill.code, kill.message);
        }
        let bytes = raw;
        if (kill.kind === 'forward') {
          const edited = applyKillEdits(payload.subarray(1), text, kill.edits);
          if (!edited) {
            this.session.refuseLast('kill-ownership');
            return this.reply(cmd, ErrorCode.FEATURE_NOT_SUPPORTED, KILL_UNLOCATABLE);
          }
          bytes = encodePacket(0, Buffer.concat([Buffer.from([Command.Query]), edited]));
        }
        const stmt = this.session.statements.takeLast();
        if (kill.kind === 'local') {
          if (stmt) this.session.completeStatement(stmt);
          return this.killLocal(kill.target, kill.query);
        }
        this.namedPrepares.observe(d.statements);
        if (d.statements.some((st) => st.effects.includes('ddl'))) this.rowGuard?.invalidate();
        if (this.rowGuard && d.rowLimit) {
          const why = rowLimitRefusal(d);
          if (why) {
            if (stmt) {
              stmt.refusedBy = d.rowLimit.limits[0]!.rule;
              this.session.completeStatement(stmt);
            }
            return this.reply(cmd, ErrorCode.STATEMENT_BLOCKED, why);
          }
          return this.guardCommand(Buffer.from(bytes), cmd, d.rowLimit, stmt, { masker: this.masks.forText(d) });
        }
        this.upstream.write(bytes);
        this.expect('result', cmd, undefined, { masker: this.masks.forText(d), stmt });
        // the statement changes how later ones must be read (its facts say so): ask the server rather than guess
        if (barrier.hit) this.probeSqlMode();
        return;
      }
      case Command.StmtPrepare: {
        const { text, d: early, barrier } = this.decideText(payload);
        const d = early ?? this.session.decide(text, this.reading.readOptions(this.readOpts), this.inspect(barrier));
        // refused before the upstream runs it: a statement id the server allocates for unreadable text (shown to
        // it to get its own parse error) is closed at once and never reaches the client
        if (refuses(d, this.masking)) {
          if (d.action === 'mask') this.session.refuseLast(d.rules[0]?.id ?? 'unknown');
          return this.refuse(cmd, d, payload, early === null);
        }
        const stmt = this.session.statements.takeLast();
        const why = this.rowGuard && d.rowLimit ? rowLimitRefusal(d) : null;
        if (why) {
          if (stmt) {
            stmt.refusedBy = d.rowLimit!.limits[0]!.rule;
            this.session.completeStatement(stmt);
          }
          return this.reply(cmd, ErrorCode.STATEMENT_BLOCKED, why);
        }
        // a prepared reading barrier would apply at every COM_STMT_EXECUTE, which the broker does not read (and the
        // server flags only NO_BACKSLASH_ESCAPES in its answers): `SET sql_mode = 'ANSI_QUOTES'` executed that way
        // makes `DELETE … WHERE v = "v"` compare the row with itself. Refused: send such a SET as a plain query
        if (barrier.hit) {
          if (stmt) {
            stmt.refusedBy = 'reading-prepared';
            this.session.completeStatement(stmt);
          }
          return this.reply(cmd, ErrorCode.STATEMENT_BLOCKED, PREPARED_BARRIER);
        }
        this.upstream.write(raw);
        const names = this.session.checksFunctions ? this.session.functionCatalog?.trusted?.(d.statements) ?? [] : [];
        this.expect('prepare', cmd, undefined, {
          prepared: this.masks.statementMasking(d) ?? undefined, stmt, ...(this.rowGuard && d.rowLimit ? { rowLimit: d.rowLimit } : {}),
          ...(names.length ? { trusted: { text, names } } : {}),
          ...(d.statements.some((st) => st.kind === 'update' || st.kind === 'delete') && valueSensitive(text) ? { valueSensitive: text } : {}),
        });
        return;
      }
      // fetched only while masks are in force
      case Command.StmtExecute:
      case Command.StmtBulkExecute: {
        const id = this.stmtId(payload);
        const t = this.trustedPrepared.get(id);
        if (t && this.session.rechecksAsWrite(t.text, this.reading.readOptions(this.readOpts))) {
          // audited as its own statement: the text whose execution the broker refused
          const d = this.session.decideFacts(t.text, this.session.factsOf(t.text, this.reading.readOptions(this.readOpts)));
          if (refuses(d, this.masking)) return this.reply(cmd, refusalOf(d).code, refusalMessage(d));
        }
        const vs = this.valueSensitivePrepared.get(id);
        if (vs) {
          const refusal = this.valueRefusal(vs, payload, cmd);
          if (refusal) return this.reply(cmd, refusal.code, refusal.message);
        }
        const masker = this.masks.forExecute(id);
        const limit = this.preparedLimits.get(id);
        // flags byte after the statement id: a cursor type other than CURSOR_TYPE_NO_CURSOR
        const cursors = cmd === Command.StmtExecute && payload.length > 5 && (payload[5]! & 0x0f) !== 0;
        if (this.rowGuard && limit) return this.guardCommand(Buffer.from(raw), cmd, limit, undefined, { masker, stmtId: id, cursors });
        this.upstream.write(raw);
        this.expect('result', cmd, undefined, { masker, stmtId: id, cursors });
        return;
      }
      case Command.StmtSendLongData: {
        // its value is not in the COM_STMT_EXECUTE the broker reads: such a statement's executions are refused
        const vs = this.valueSensitivePrepared.get(this.stmtId(payload));
        if (vs) vs.longData = true;
        this.upstream.write(raw);
        return;
      }
      case Command.StmtClose: {
        const id = this.stmtId(payload);
        this.masks.closed(id);
        this.preparedLimits.delete(id);
        this.trustedPrepared.delete(id);
        this.valueSensitivePrepared.delete(id);
        this.upstream.write(raw);
        return;
      }
      case Command.StmtFetch: {
        const id = this.stmtId(payload);
        const cursor = this.masks.forFetch(id);
        // rows of a cursor whose columns the broker never saw cannot be masked column by column: fail closed
        if (!cursor) return this.reply(cmd, ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: COM_STMT_FETCH of a cursor opened before masking applied; execute the statement again');
        this.upstream.write(raw);
        this.expect('rows', cmd, undefined, { masker: cursor.masker, stmtId: id });
        this.queue[this.queue.length - 1]!.tracker!.fetchRows = cursor.rewrite;
        return;
      }
      case Command.ResetConnection:
        // the server goes back to its default sql_mode and character set. The probe follows the reset at once, so
        // a text the client pipelines after the reset waits for the answer (before, it was decided under the
        // session's old reading while the server read it under the reset one)
        this.namedPrepares.clear();
        this.trustedPrepared.clear();
        this.valueSensitivePrepared.clear();
        this.upstream.write(raw);
        this.expect('single', cmd);
        this.probeSqlMode();
        return;
      case Command.InitDb: {
        const db = payload.toString('utf8', 1);
        if (!this.session.grant.databases.includes(db)) return this.reply(cmd, ErrorCode.DATABASE_NOT_GRANTED, this.dbDenied(db));
        this.upstream.write(raw);
        this.expect('single', cmd);
        return;
      }
      case Command.ChangeUser:
        // pools send it between borrowers: the client waits for its answer, so nothing else is due
        if (this.queue.length) return this.reply(cmd, ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: COM_CHANGE_USER while answers are still due is not supported');
        return this.handOff(payload);
      case Command.Quit:
        this.closed = true;
        this.upstream.end(raw);
        this.endClient();
        return;
    }
  }

  /**
   * COM_CHANGE_USER: this relay stops and hands the client socket back for a new login (a new session on a new
   * upstream connection); the old upstream is told to quit. Nothing of the old session's state survives, as on
   * the server.
   */
  private handOff(payload: Buffer): void {
    this.closed = true;
    this.clientScanner.stop();
    this.upstreamScanner.stop();
    this.detachSockets?.();
    this.client.pause();
    this.upstream.end(QUIT);
    setTimeout(() => this.upstream.destroy(), ENDING_GRACE.closeMs).unref();
    this.flushByteCounters();
    this.opts.changeUser!(Buffer.from(payload));
  }

  /** A command under a row limit: the row guard runs it inside a transaction boundary of its own. */
  private guardCommand(raw: Buffer, cmd: number, limit: RowLimit, stmt: PendingStatement | undefined, extra: Partial<Pending>): void {
    const replySeq = this.replySeq();
    const host: MysqlRowGuardHost = {
      session: this.session,
      deprecateEof: this.deprecateEof,
      replySeq,
      internal: (text, done) => this.internalQuery(text, done),
      forwardHeld: (bytes, done) => {
        this.upstream.write(bytes);
        const tracker = new ResponseTracker('result', this.deprecateEof);
        if (extra?.cursors) tracker.cursors = true;
        this.queue.push({
          kind: 'upstream', replySeq, tracker, command: cmd, held: [], heldData: [], ...extra,
          onDone: (e) => done(e.held!, e.tracker!, e.heldData!),
        });
      },
      writeClient: (b) => this.clientOut.write(b),
      status: () => this.lastStatus,
      resumeClient: () => this.resumeClient(),
    };
    const before = this.lastStatus;
    const inTransaction = (before & ServerStatus.InTrans) !== 0 || (before & ServerStatus.Autocommit) === 0;
    this.rowGuard!.run(host, raw, limit, stmt, (t) => {
      // the broker's own START TRANSACTION shows in the answer's flags; what the client has is the state before it
      if (t && t.status >= 0) this.lastStatus = inTransaction ? t.status : t.status & ~ServerStatus.InTrans;
      if (stmt) this.finishStatement(stmt, t);
    });
  }

  private resumeClient(): void {
    if (this.rowGuard?.busy || this.checking) return;
    const q = this.clientQueue;
    this.clientQueue = [];
    this.client.resume();
    for (const c of q) this.onClientData(c);
  }

  /** Completes a command's audit statement from its response. */
  private finishStatement(p: PendingStatement, t: ResponseTracker | null | undefined): void {
    if (t && p.refusedBy === undefined) {
      if (t.errno) p.error = String(t.errno);
      p.rows = t.affected + t.rows;
      p.counted = true;
      p.written = t.affected;
    }
    this.session.completeStatement(p);
  }

  /** A query of the broker's own, answered to the broker only. */
  private internalQuery(text: string, done: (packets: Buffer[]) => void): void {
    this.upstream.write(encodePacket(0, encodeComQuery(text)));
    this.queue.push({
      kind: 'internal', replySeq: 1, tracker: new ResponseTracker('result', this.deprecateEof), command: Command.Query, collected: [],
      onDone: (e) => done(e.collected!),
    });
  }

  private dbDenied(db: string): string {
    return databaseNotGranted('mysql', this.session.grant, this.opts.login, this.opts.host, db).message;
  }

  /** The first database a USE in the text switches to that the grant does not cover. */
  private ungrantedUse(d: Decision): string | undefined {
    return d.statements.find((st) => st.database !== undefined && !this.session.grant.databases.includes(st.database))?.database;
  }

  /**
   * A text that is one KILL of a session of this grant (checked in planKills): the broker interrupts or ends that
   * session itself (what the mysql CLI sends on Ctrl-C, over a second connection), so it is audited as killed.
   */
  private killLocal(target: Session, query: boolean): void {
    if (query) target.control?.cancel?.();
    else target.terminate('killed');
    this.replyOk(Command.Query);
  }

  /** The sequence id an answer to the command being read gets. */
  private replySeq(): number {
    return this.replySeqGuess >= 0 ? this.replySeqGuess : (this.clientScanner.lastSeq + 1) & 0xff;
  }

  private expect(kind: ResponseKind, command: number, onDone?: (e: Pending) => void, extra: Partial<Pending> = {}): void {
    const tracker = new ResponseTracker(kind, this.deprecateEof);
    if (extra.cursors) tracker.cursors = true;
    this.queue.push({ kind: 'upstream', replySeq: this.replySeq(), tracker, command, onDone, ...extra });
  }

  // ---- masking ----

  /** Whether mask rules are in force (read each time: a rules reload replaces the session's guard). */
  private get masking(): boolean {
    return this.masks.active;
  }

  private stmtId(payload: Buffer): number {
    if (payload.length < 5) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `short ${CommandName[payload[0]!] ?? 'command'}`);
    const id = payload.readUInt32LE(1);
    return id === LAST_PREPARED ? this.lastPrepared : id;
  }

  /**
   * Sends an upstream packet of a forwarded response to the client: rows rewritten under the result's plan,
   * ERR texts with echoed values redacted, everything else as the same bytes.
   */
  private forward(head: Pending, payload: Buffer, raw: Buffer, seq: number): void {
    const tracker = head.tracker!;
    let out: Buffer | null = null;
    if (head.masker) {
      const r = MysqlMaskTracker.packet(head.masker, tracker.role, payload);
      out = r.out;
      if (r.rows) tracker.fetchRows = true;
    }
    if (tracker.role !== 'column' && tracker.role !== 'row' && payload[0] === PacketHeader.Err) out = this.masks.redactError(payload);
    if ((head.prepared || head.rowLimit || head.trusted || head.valueSensitive) && head.command === Command.StmtPrepare && payload[0] === PacketHeader.Ok && payload.length >= 5 && head.stmtId === undefined) {
      head.stmtId = payload.readUInt32LE(1);
      if (head.valueSensitive && payload.length >= 9) {
        if (this.valueSensitivePrepared.size >= 10_000) this.valueSensitivePrepared.delete(this.valueSensitivePrepared.keys().next().value!);
        this.valueSensitivePrepared.set(head.stmtId, { text: head.valueSensitive, params: payload.readUInt16LE(7), types: null });
      }
      // bounded like the PostgreSQL relay's: past it the oldest statements are no longer decided again
      if (head.trusted) {
        if (this.trustedPrepared.size >= 10_000) this.trustedPrepared.delete(this.trustedPrepared.keys().next().value!);
        this.trustedPrepared.set(head.stmtId, head.trusted);
      }
      if (head.prepared) this.masks.preparedAs(head.stmtId, head.prepared);
      this.lastPrepared = head.stmtId;
    }
    const data = tracker.role === 'row' || tracker.role === 'column';
    const emit = (b: Buffer) => (head.held ? (head.held.push(Buffer.from(b)), head.heldData?.push(data)) : this.clientOut.write(b));
    if (out === null && this.seqShift === 0) return void emit(raw);
    const body = out ?? payload;
    emit(encodePacket((seq + this.seqShift) & 0xff, body));
    this.seqShift += physicalPackets(body.length) - physicalPackets(payload.length);
  }

  /** The broker answers a command itself, in its place among the answers still due from the upstream. */
  private reply(command: number, code: ErrorCode, message: string): void {
    this.queue.push({ kind: 'local', replySeq: this.replySeq(), reply: encodeBrokerErr(code, message), command });
    this.drainLocal();
  }

  private replyOk(command: number): void {
    this.queue.push({ kind: 'local', replySeq: this.replySeq(), reply: encodeOk({ status: ServerStatus.Autocommit }), command });
    this.drainLocal();
  }

  private drainLocal(): void {
    while (this.queue[0]?.kind === 'local' && this.upstreamScanner.atBoundary && !this.closed) {
      const e = this.queue.shift()!;
      this.clientOut.write(encodePacket(e.replySeq, e.reply!));
    }
  }

  /** Reads the session's sql_mode and character set with a query of the broker's own, answered to the broker only. */
  private probeSqlMode(): void {
    this.upstream.write(encodePacket(0, encodeComQuery(READING_PROBE)));
    this.reading.probeSent();
    this.queue.push({
      kind: 'internal', replySeq: 1, tracker: new ResponseTracker('result', this.deprecateEof), command: Command.Query, collected: [],
      onDone: (e) => {
        const v = e.collected![0]?.[0] === PacketHeader.Err ? null : firstTextValue(e.collected!, this.deprecateEof);
        const [charset, mode] = v === null ? [null, null] : splitReadingProbe(v);
        if (mode !== null) this.applySqlMode(mode);
        // a mode the reader does not follow (PIPES_AS_CONCAT, …) reached through a SET whose value was not literal
        const bad = this.reading.probeAnswered(charset) ?? (mode !== null ? MysqlReadingState.modeRefusal(mode) : null);
        // set through a door the broker did not see: the session can no longer be read safely
        if (bad) this.beginEnd(ErrorCode.SESSION_UNREADABLE, bad);
      },
    });
  }

  /**
   * The text of a COM_QUERY / COM_STMT_PREPARE decoded as the server decodes it; a decision already made when it
   * cannot be (refused unread).
   */
  /** the text functionCheck decoded for the packet about to be decided (same Buffer), so it is decoded once */
  private decodedAhead: { payload: Buffer; r: ReturnType<MysqlReadingState['decode']> } | undefined;

  /**
   * An execution of a value-sensitive prepared write, decided with its values in place (bind-values.ts); the refusal
   * to answer, or null to run it. Audited under the prepared text (values are not logged).
   */
  private valueRefusal(vs: { text: string; params: number; types: number[] | null; longData?: boolean }, payload: Buffer, cmd: number): { code: ErrorCode; message: string } | null {
    const unread = (why: string) => ({ code: ErrorCode.STATEMENT_BLOCKED, message: `dbwarden: blocked: the parameters of this execution could not be read (${why}), and they decide which rows its condition matches` });
    if (cmd !== Command.StmtExecute) return unread('a bulk execution');
    if (vs.longData) return unread('a value sent with COM_STMT_SEND_LONG_DATA');
    const r = executeValues(payload, vs.params, vs.types);
    if (!r) return unread('an unreadable COM_STMT_EXECUTE');
    vs.types = r.types;
    const read = this.reading.readOptions(this.readOpts);
    const texts = this.session.mysqlTextWithValues(vs.text, r.values, read);
    if (!texts) return unread('its text could not be read again');
    // canonical texts: strings as '…' with '' and \\ escapes, identifiers in backticks
    const canonical = { ...read, ansiQuotes: false, noBackslashEscapes: false };
    for (const t of texts) {
      const d = this.session.judgeFacts(this.session.factsOf(t, canonical));
      if (refuses(d, this.masking)) {
        this.session.record(vs.text, d);
        return { code: refusalOf(d).code, message: refusalMessage(d) };
      }
    }
    return null;
  }

  private decideText(payload: Buffer): { text: string; d: Decision | null; barrier: { hit: boolean } } {
    const ahead = this.decodedAhead;
    this.decodedAhead = undefined;
    const r = ahead && ahead.payload === payload ? ahead.r : this.reading.decode(payload, 1);
    const barrier = { hit: false };
    if (r.ok) return { text: r.text, d: null, barrier };
    const text = payload.toString('utf8', 1);
    const d = this.session.decideFacts(text, [{
      kind: 'unparsed', effects: [], tables: [], columns: [], functions: [], where: null, limit: null, nested: false, multiStatement: false, index: 0, error: r.error,
    }], (x) => ({ ...x, action: 'block', rules: [{ id: 'unparsed', ruleset: 'dbwarden', action: 'block', message: r.error, statement: 0 }] }));
    return { text, d, barrier };
  }

  private inspect(barrier: { hit: boolean }): (d: Decision) => Decision | null {
    return (d) => {
      const r = this.reading.check(d);
      if (r === 'probe') barrier.hit = true;
      return r === 'probe' ? null : r;
    };
  }

  /**
   * Refuses a COM_QUERY or COM_STMT_PREPARE. Text the broker could not read is first shown to the server as
   * COM_STMT_PREPARE (parsed, never run, closed at once): when the server rejects it too the client gets the
   * server's own error (1064 …), as it would without the broker; otherwise the broker's refusal. `decoded`: the
   * text was read in the session's character set (decideText); text that was not is never sent, nor is a NUL
   * (either could be read by the server as something the broker did not see).
   */
  private refuse(cmd: number, d: Decision, payload: Buffer, decoded: boolean): void {
    const r = d.rules[0];
    const st = r && d.action === 'block' ? d.statements[r.statement] : undefined;
    const text = payload.subarray(1);
    // a multi-statement text cannot be prepared
    if (!decoded || st?.kind !== 'unparsed' || text.includes(0x3b) || text.includes(0)) {
      return this.reply(cmd, refusalOf(d).code, refusalMessage(d));
    }
    const replySeq = this.replySeq();
    this.upstream.write(encodePacket(0, Buffer.concat([Buffer.from([Command.StmtPrepare]), text])));
    this.queue.push({
      kind: 'internal', replySeq: 1, tracker: new ResponseTracker('prepare', this.deprecateEof), command: Command.StmtPrepare, collected: [],
      onDone: (e) => {
        const first = e.collected![0];
        if (first && first[0] === PacketHeader.Ok && first.length >= 5) {
          const close = Buffer.alloc(5);
          close[0] = Command.StmtClose;
          first.copy(close, 1, 1, 5);
          this.upstream.write(encodePacket(0, close));
        }
        const serverError = first?.[0] === PacketHeader.Err && PARSE_ERRNOS.has(first.readUInt16LE(1));
        this.queue.unshift({ kind: 'local', replySeq, reply: serverError ? first : encodeBrokerErr(refusalOf(d).code, refusalMessage(d)), command: cmd });
      },
    });
  }

  // ---- upstream → client ----

  /** Client-bound packets of one upstream chunk: one write when it is done, not a writev of one buffer per packet. */
  private readonly clientOut: Outbox;

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    this.upstreamBytes += chunk.length;
    const outer = this.clientOut.open();
    const completed = this.session.completed;
    try {
      this.upstreamScanner.push(chunk);
    } catch (e) {
      this.session.log.warn({ err: (e as Error).message }, 'upstream protocol error');
      this.upstreamScanner.stop();
      this.closed = true;
      this.endClient(encodePacket(this.nextClientSeq(), encodeBrokerErr(ErrorCode.UPSTREAM_PROTOCOL_VIOLATION, 'dbwarden: upstream protocol error')));
      this.upstream.destroy();
    } finally {
      // Statement events completed by this chunk reach the disk before the client sees their answers: the
      // answers stay in the corked client socket until the turn's one audit write (shared by every session
      // answered in this turn) is done.
      if (this.session.completed !== completed && !this.closed) this.clientOut.hold((release) => this.session.afterAudit(release));
      if (outer) this.clientOut.flush();
    }
    if (this.ending && this.upstreamScanner.atBoundary) this.endingRun?.finish(false);
    if (this.upstreamBytes > 1 << 20) this.flushByteCounters();
    holdUntilDrained(this.upstream, this.client);
  }

  private onUpstreamStart(seq: number, len: number, first: number): Disposition {
    const head = this.queue[0];
    if (!head || head.kind === 'local') {
      // unsolicited: the server is about to close the connection (e.g. killed by an administrator)
      return 'send';
    }
    const tracker = head.tracker!;
    if (!tracker.started) head.replySeq = seq;
    const expected = tracker.started ? (this.upstreamScanner.lastSeq + 1) & 0xff : seq;
    if (seq !== expected) {
      throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `upstream packets out of order: expected sequence id ${expected}, got ${seq}`);
    }
    const disp = tracker.start(first, len);
    // once sequence ids are shifted, every packet of the response needs a new header; an answer the row guard holds
    // is held whole (its rows streamed past the hold reached the client before the result's header: a CALL that
    // returned rows on a write grant broke the client's connection)
    return head.kind === 'internal' || this.seqShift !== 0 || head.held ? 'fetch' : disp;
  }

  private onUpstreamPacket(payload: Buffer, raw: Buffer, seq: number): void {
    const head = this.queue[0];
    if (!head || head.kind === 'local') {
      // unsolicited (nothing was asked): an ERR here is the server's reason for closing the connection
      this.lastUpstreamFatal = payload[0] === PacketHeader.Err;
      this.clientOut.write(raw);
      return;
    }
    // until forwarded, this packet's sequence id is the one the client expects next (an ERR sent instead of it)
    this.heldSeq = head.kind === 'internal' ? -1 : seq;
    const done = head.tracker!.packet(payload);
    if (head.kind === 'internal') head.collected!.push(Buffer.from(payload));
    else this.forward(head, payload, raw, seq);
    this.heldSeq = -1;
    if (!done) return;
    this.queue.shift();
    this.seqShift = 0;
    if (head.masker && head.stmtId !== undefined && head.tracker!.cursors && head.tracker!.status >= 0 && head.tracker!.status & ServerStatus.CursorExists) {
      this.masks.cursorOpened(head.stmtId, head.masker);
    }
    const status = head.tracker!.status;
    if (head.kind === 'upstream' && !head.held && status >= 0) this.lastStatus = status;
    // a prepared INSERT … VALUES keeps no limit (drivers pipeline and bulk-send its executions): text protocol only
    if (head.command === Command.StmtPrepare && head.rowLimit && !head.rowLimit.valuesOnly && head.stmtId !== undefined) this.preparedLimits.set(head.stmtId, head.rowLimit);
    if (head.stmt) this.finishStatement(head.stmt, head.tracker);
    if (status >= 0) {
      this.session.inTransaction = (status & ServerStatus.InTrans) !== 0;
      const nbe = (status & ServerStatus.NoBackslashEscapes) !== 0;
      if (nbe !== !!this.readOpts.noBackslashEscapes) this.readOpts = { ...this.readOpts, noBackslashEscapes: nbe };
    }
    head.onDone?.(head);
    this.drainLocal();
  }

  // ---- ending ----

  private nextClientSeq(): number {
    if (this.heldSeq >= 0) return (this.heldSeq + this.seqShift) & 0xff;
    const head = this.queue.find((e) => e.kind !== 'internal');
    if (!head) return 1;
    if (head.kind === 'upstream' && head.tracker!.started) return (this.upstreamScanner.lastSeq + 1 + this.seqShift) & 0xff;
    return head.replySeq;
  }

  private inFlight(): boolean {
    return this.queue.some((e) => e.kind === 'upstream');
  }

  private cancelRunning(): Promise<unknown> {
    return this.inFlight() ? this.opts.killQuery().catch(() => undefined) : Promise.resolve();
  }

  /** Reports the scanner's buffered bytes to the session's budget; over a cap the session ends. */
  private trackPartials(): void {
    const over = this.session.partials?.update(this.ending ? 0 : this.clientScanner.bufferedBytes);
    if (over) {
      this.session.log.info({ err: over }, 'partial-message budget exceeded');
      this.beginEnd(ErrorCode.PROTOCOL_VIOLATION, over);
    }
  }

  /**
   * Ends the session (wire/ending.ts): stop reading the client, send the ERR at the next upstream packet boundary
   * (nothing the upstream sends after that reaches the client), and KILL QUERY what runs upstream before hanging
   * up there with COM_QUIT, so the processlist shows the statement gone rather than running on.
   */
  private beginEnd(code: ErrorCode, message: string): void {
    if (this.ending || this.closed) return;
    this.ending = { code, message };
    this.clientScanner.stop();
    this.session.partials?.update(0);
    this.client.pause();
    this.endingRun = runEnding({
      cancelUpstream: () => this.cancelRunning(),
      atBoundary: () => this.upstreamScanner.atBoundary,
      finishClient: (cut) => this.finishClient(cut),
      hangUp: () => this.upstream.end(QUIT),
      destroy: () => this.destroy(),
    });
  }

  /** Ends the client stream; end() sends what the corked socket holds, so the lines of what it answers go first. */
  private endClient(last?: Buffer): void {
    this.session.flushAudit();
    this.clientOut.end(last);
  }

  private finishClient(cut = false): void {
    if (this.closed) return;
    this.closed = true;
    this.upstreamScanner.stop();
    if (cut) this.client.destroy();
    else this.endClient(encodePacket(this.nextClientSeq(), encodeBrokerErr(this.ending?.code ?? ErrorCode.SESSION_TERMINATED, this.ending?.message ?? 'dbwarden: session ended')));
  }

  private destroy(): void {
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
  }

  private onClientClose(): void {
    if (!this.closed && !this.ending) {
      // client went away: a statement still running upstream is interrupted, then the upstream is told to quit
      this.closed = true;
      void this.cancelRunning().then(() => this.upstream.end(QUIT));
    }
    this.client.destroy();
    setTimeout(() => this.upstream.destroy(), ENDING_GRACE.closeMs).unref();
    this.flushByteCounters();
    this.session.end('client closed');
  }

  private onUpstreamClose(): void {
    if (!this.closed) {
      this.closed = true;
      // a server that said why it closes (an ERR before hanging up) is not contradicted by a second error
      if (!this.lastUpstreamFatal && this.upstreamScanner.atBoundary) {
        this.endClient(encodePacket(this.nextClientSeq(), encodeBrokerErr(ErrorCode.UPSTREAM_LOST, 'dbwarden: upstream connection lost')));
      } else {
        this.endClient();
      }
      this.session.terminate('upstream');
    }
    this.upstream.destroy();
    setTimeout(() => this.client.destroy(), ENDING_GRACE.closeMs).unref();
  }

  private flushByteCounters(): void {
    const { bytesTotal } = this.opts.metrics;
    if (this.clientBytes) bytesTotal.inc({ protocol: 'mysql', direction: 'client_to_upstream' }, this.clientBytes);
    if (this.upstreamBytes) bytesTotal.inc({ protocol: 'mysql', direction: 'upstream_to_client' }, this.upstreamBytes);
    this.clientBytes = 0;
    this.upstreamBytes = 0;
  }
}

function physicalPackets(payloadLength: number): number {
  return Math.floor(payloadLength / MAX_PACKET_PAYLOAD) + 1;
}
