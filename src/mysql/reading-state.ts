// How the MySQL session reads statement text right now: its client character set (decoded the way the server decodes
// it; charsets whose multibyte characters can hide ASCII bytes refused) and whether a reading barrier's effect is
// still unknown.
//
// Defends against charset smuggling (SET NAMES gbk, a gbk handshake collation: 0x5C as the second byte of a
// character) and against texts decided under a reading that a preceding SET sql_mode / SET NAMES has already
// changed on the server. After a barrier is forwarded the relay asks the server for both settings; until the answer
// arrives later texts are read under every quoting mode and must be ASCII.
import type { Decision } from '../session/verdict.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import { mysqlDecoder, mysqlUnsafeCharset, unsafeCharsetMessage, type Decoded, type Decoder } from '../wire/charsets.js';

export class MysqlReadingState {
  private decoder: Decoder;
  /** reading probes sent whose answers have not arrived: the session's reading is not known for sure */
  private probes = 0;

  constructor(private charset: string) {
    this.decoder = mysqlDecoder(charset) ?? mysqlDecoder('utf8mb4')!;
  }

  /** The error for a character set the broker must refuse, or null (at login and for probe answers). */
  static refusal(charset: string): string | null {
    const bad = mysqlUnsafeCharset(charset);
    if (bad) return unsafeCharsetMessage('mysql', bad);
    if (!mysqlDecoder(charset)) return `dbwarden: client character set ${charset} is not supported; use utf8mb4`;
    return null;
  }

  /** Statement bytes of a COM_QUERY / COM_STMT_PREPARE (from `from`) as the server reads them. */
  decode(payload: Buffer, from: number): Decoded {
    const bytes = payload.subarray(from);
    if (this.probes > 0) {
      for (const b of bytes) {
        if (b >= 0x80) return { ok: false, error: 'non-ASCII text sent before the server confirmed a change of the client character set; send it again' };
      }
    }
    return this.decoder(bytes);
  }

  /** The read options while a barrier is unconfirmed: quoting modes unknown, so the reader tries each. */
  readOptions(known: ReadOptions): ReadOptions {
    if (this.probes === 0) return known;
    const { ansiQuotes: _a, noBackslashEscapes: _b, ...rest } = known;
    // strictness unknown too: assume relaxed, so a narrowing column change counts as a loss (effect-mysql.ts)
    return { ...rest, relaxedSqlMode: true };
  }

  /**
   * A barrier the broker must refuse (an unsafe or unknown client character set) becomes a block decision; an
   * allowed barrier returns 'probe' (the relay then asks the server for its reading settings).
   */
  check(d: Decision): Decision | 'probe' | null {
    let barrier = false;
    for (const [i, st] of d.statements.entries()) {
      if (!st.reading) continue;
      barrier = true;
      const bad = refusedChange(st);
      const id = bad?.startsWith('sql_mode ') ? 'sql-mode' : 'client-charset';
      if (bad) return { action: 'block', rules: [{ id, ruleset: 'dbwarden', action: 'block', message: bad, statement: i }], statements: d.statements };
    }
    return barrier && d.action !== 'block' && d.action !== 'review' ? 'probe' : null;
  }

  probeSent(): void {
    this.probes++;
  }

  /** whether a probe's answer is still due: the session's reading is not known for sure */
  get unconfirmed(): boolean {
    return this.probes > 0;
  }

  /** callers waiting for every probe's answer (see confirmed) */
  private waiters: (() => void)[] = [];

  /**
   * Resolves when every probe sent so far has been answered. A text that arrives after a reading barrier waits for
   * this before it is decided: the barrier's value may be unknown (`SET sql_mode = CONCAT(…)`, a variable) and land
   * in any mode, including ones the reader refuses (PIPES_AS_CONCAT: `||` is not OR), so reading it "under every
   * quoting mode" meanwhile is not enough.
   */
  confirmed(): Promise<void> {
    if (this.probes === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The error for a session sql_mode the broker cannot read under (PIPES_AS_CONCAT, …), or null (login, probes). */
  static modeRefusal(mode: string): string | null {
    const msg = unreadableSqlModeMessage(mode);
    return msg ? `dbwarden: ${msg}` : null;
  }

  /** A probe's answer; returns an error when the session now uses a character set the broker cannot read. */
  probeAnswered(charset: string | null): string | null {
    if (this.probes > 0) this.probes--;
    // the relay ends the session on an error returned here before a waiting text is decided (it checks `ending`)
    if (this.probes === 0) queueMicrotask(() => { for (const w of this.waiters.splice(0)) w(); });
    if (charset === null) return null;
    const bad = MysqlReadingState.refusal(charset);
    if (bad) return bad;
    this.charset = charset;
    this.decoder = mysqlDecoder(charset)!;
    return null;
  }

  get clientCharset(): string {
    return this.charset;
  }
}

function refusedChange(st: StatementFacts): string | null {
  for (const r of st.reading ?? []) {
    // a literal sql_mode the broker cannot read under is refused before the server applies it
    if (r.setting === 'sql_mode' && typeof r.value === 'string') {
      const msg = unreadableSqlModeMessage(r.value);
      if (msg) return msg;
    }
    if (r.setting !== 'character_set_client') continue;
    if (r.value === undefined) return 'the client character set can only be set to a literal name through the broker (it checks the character set before the server applies it)';
    if (r.value !== null) {
      const msg = MysqlReadingState.refusal(r.value);
      if (msg) return msg.replace(/^dbwarden: /, '');
    }
  }
  return null;
}

/**
 * sql_mode flags under which the server reads text in a way the broker's reader does not follow: `||` as
 * concatenation (PIPES_AS_CONCAT, and the ANSI/ORACLE/MSSQL/DB2/POSTGRESQL/MAXDB modes that include it), NOT binding
 * tighter than comparison (HIGH_NOT_PRECEDENCE, MYSQL323/MYSQL40), '' read as NULL (EMPTY_STRING_IS_NULL), MariaDB's
 * Oracle grammar. Defends against reading-mode smuggling: under PIPES_AS_CONCAT `DELETE … WHERE id = 1 || id = 0`
 * is read by the broker as a scoped OR and by the server as `(id = '1' || id) = 0`, true for every row. A session may
 * not be in such a mode: a literal SET of one is refused, and a session found in one (at login, or by the probe after
 * a SET whose value the broker could not know) is ended.
 */
const UNREADABLE = ['PIPES_AS_CONCAT', 'HIGH_NOT_PRECEDENCE', 'EMPTY_STRING_IS_NULL', 'ANSI', 'ORACLE', 'MSSQL', 'DB2', 'POSTGRESQL', 'MAXDB', 'MYSQL323', 'MYSQL40'];

/** The flags of a sql_mode value the broker cannot read under (see UNREADABLE); empty when it can. */
function unreadableSqlModeFlags(value: string): string[] {
  const flags = new Set(value.toUpperCase().split(',').map((f) => f.trim()));
  return UNREADABLE.filter((f) => flags.has(f));
}

/** The refusal for a sql_mode the broker cannot read under, or null. */
function unreadableSqlModeMessage(value: string): string | null {
  const bad = unreadableSqlModeFlags(value);
  if (!bad.length) return null;
  return `sql_mode ${bad.join(',')} changes how the server reads statements in a way the broker does not follow; it is not supported through the broker`;
}
