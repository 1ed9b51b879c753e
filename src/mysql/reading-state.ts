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
      if (bad) return { action: 'block', rules: [{ id: 'client-charset', ruleset: 'dbwarden', action: 'block', message: bad, statement: i }], statements: d.statements };
    }
    return barrier && d.action !== 'block' && d.action !== 'review' ? 'probe' : null;
  }

  probeSent(): void {
    this.probes++;
  }

  /** A probe's answer; returns an error when the session now uses a character set the broker cannot read. */
  probeAnswered(charset: string | null): string | null {
    if (this.probes > 0) this.probes--;
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
    if (r.setting !== 'character_set_client') continue;
    if (r.value === undefined) return 'the client character set can only be set to a literal name through the broker (it checks the character set before the server applies it)';
    if (r.value !== null) {
      const msg = MysqlReadingState.refusal(r.value);
      if (msg) return msg.replace(/^dbwarden: /, '');
    }
  }
  return null;
}
