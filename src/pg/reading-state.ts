// How the PostgreSQL session reads statement text right now (client encoding, standard_conforming_strings), and the
// reading barriers: statements after which later messages must not be decided until the server has applied them.
//
// Defends against reading-state smuggling. The broker learns the session's settings from ParameterStatus, i.e.
// after a SET ran; a client that pipelines `SET standard_conforming_strings = off` (or a client_encoding change)
// and the next Query in one write would get that Query decided under the old reading and executed under the new
// one. A Query that carries a barrier therefore pauses the client stream until its ReadyForQuery (the
// ParameterStatus reports come before it); a barrier in a Parse pauses after the next Sync, and until then later
// texts must read the same under every reading (no backslash, ASCII only). Within one Query text nothing needs
// doing: the server parses and converts the whole string before running any of it (proven in
// test/integration/reading-pg.test.ts). Texts without barriers cost one property check.
import type { Decision } from '../session/verdict.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import { pgDecoder, pgUnsafeEncoding, unsafeCharsetMessage, type Decoded, type Decoder } from '../wire/charsets.js';

export class PgReadingState {
  private encoding = 'UTF8';
  private decoder: Decoder;
  private scs: boolean;
  /** a barrier was forwarded in a Parse since the last Sync: its effect is not known yet */
  private uncertain = false;
  /**
   * an Execute was forwarded since the last Sync. What it ran may have changed the reading where the broker cannot
   * see it (a prepared SET Parsed in an earlier pipeline, EXECUTE of a prepared set_config, a function or trigger
   * calling set_config), and PostgreSQL reports such a change only at the next ReadyForQuery: until the Sync, later
   * texts must read the same under every reading.
   */
  private executed = false;
  /** pause the client stream after the message being handled */
  private pauseRequested = false;
  /** the client stream is paused until every outstanding ReadyForQuery has arrived */
  holding = false;

  constructor(encoding: string, standardConformingStrings: boolean) {
    this.scs = standardConformingStrings;
    this.decoder = pgDecoder('UTF8')!;
    this.setEncoding(encoding);
  }

  /**
   * Whether a Query body holds bytes whose reading depends on the session's settings (a backslash, a non-ASCII
   * byte): such a text is decided only once everything sent before it has completed. Ordinary ASCII pipelines
   * never wait.
   */
  static sensitive(body: Buffer): boolean {
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c === 0x5c || c >= 0x80) return true;
    }
    return false;
  }

  /** The error for an encoding the broker must refuse, or null (used at login and for ParameterStatus). */
  static refusal(encoding: string): string | null {
    const bad = pgUnsafeEncoding(encoding);
    return bad ? unsafeCharsetMessage('postgres', bad) : null;
  }

  /** Applies a ParameterStatus; returns a FATAL message when the session can no longer be read safely. */
  onParameterStatus(name: string, value: string): string | null {
    if (name === 'standard_conforming_strings') this.scs = value !== 'off';
    else if (name === 'client_encoding') return this.setEncoding(value);
    return null;
  }

  private setEncoding(value: string): string | null {
    const d = pgDecoder(value);
    // reached only by a door the broker did not see (SET inside a function, ALTER ROLE … SET): end the session
    if (!d) return PgReadingState.refusal(value) ?? `dbwarden: client encoding ${value} is not supported`;
    this.encoding = value;
    this.decoder = d;
    return null;
  }

  /** Statement bytes (without the terminating NUL) as the server reads them. */
  decode(bytes: Buffer): Decoded {
    // a NUL inside the text: the server would read a different (shorter or longer) text than the message holds
    if (bytes.includes(0)) return { ok: false, error: 'NUL byte in statement text' };
    if ((this.uncertain || this.executed) && PgReadingState.sensitive(bytes)) {
      return this.uncertain
        ? { ok: false, error: 'this text follows a change of client_encoding, standard_conforming_strings or backslash_quote in the same pipeline and could read differently once it applies; send it after the Sync that completes the SET' }
        : { ok: false, error: 'this text follows an Execute in the same pipeline whose statement may have changed client_encoding or standard_conforming_strings (the server reports that only at the Sync), so it could read differently; send it after the Sync' };
    }
    return this.decoder(bytes);
  }

  readOptions(): ReadOptions | undefined {
    return this.scs ? undefined : { standardConformingStrings: false };
  }

  /**
   * Inspects a decision before it is carried out: a barrier the broker must refuse (an encoding it cannot read, or
   * one it cannot know) becomes a block decision; an allowed barrier pauses the stream after this message (Query)
   * or makes later texts of the pipeline read under every reading until the Sync (Parse).
   */
  check(d: Decision, extended: boolean): Decision | null {
    let barrier = false;
    for (const [i, st] of d.statements.entries()) {
      if (!st.reading) continue;
      barrier = true;
      const bad = refusedChange(st);
      if (bad) return builtinBlock(d.statements, 'client-charset', bad, i);
    }
    if (!barrier || d.action === 'block' || d.action === 'review') return null;
    if (extended) this.uncertain = true;
    else this.pauseRequested = true;
    return null;
  }

  /** An Execute is forwarded: until the Sync, later texts of the pipeline must read the same under every reading. */
  onExecute(): void {
    this.executed = true;
  }

  /**
   * At a Sync: a barrier Parsed before it is acknowledged by this Sync's ReadyForQuery. (After a plain Execute the
   * stream is not paused: the relay holds a later text that could read differently until every ReadyForQuery
   * before it has come, with the ParameterStatus reports ahead of it.)
   */
  onSync(): void {
    this.executed = false;
    if (this.uncertain) {
      this.uncertain = false;
      this.pauseRequested = true;
    }
  }

  /** Whether to pause the client stream now (consumes the request). */
  takePause(): boolean {
    if (!this.pauseRequested) return false;
    this.pauseRequested = false;
    this.holding = true;
    return true;
  }

  get clientEncoding(): string {
    return this.encoding;
  }
}

function refusedChange(st: StatementFacts): string | null {
  for (const r of st.reading ?? []) {
    if (r.setting !== 'client_encoding') continue;
    if (r.value === undefined) return 'client_encoding can only be set to a literal value through the broker (it checks the encoding before the server applies it)';
    if (r.value !== null) {
      const msg = PgReadingState.refusal(r.value);
      if (msg) return msg.replace(/^dbwarden: /, '');
    }
  }
  return null;
}

/** A refusal by one of the broker's built-in checks, in the shape of a rule decision (audited with that id). */
export function builtinBlock(statements: StatementFacts[], id: string, message: string, statement = 0): Decision {
  return { action: 'block', rules: [{ id, ruleset: 'dbwarden', action: 'block', message, statement }], statements };
}
