// How the relay carries out the KILL statements of one COM_QUERY text, from the KILL facts the core reports:
// alone, the broker ends or interrupts the named session itself; inside a multi-statement text, each literal
// thread id is rewritten to the upstream thread id of the session it names, so the server kills the right
// thread in its place among the statements.
import type { StatementFacts } from '../sql/facts.js';
import type { Session } from '../session/session.js';
import { ErrorCode } from '../errors.js';
import type { ThreadIds } from './thread-ids.js';

export type KillPlan =
  | { kind: 'none' }
  | { kind: 'refuse'; code: ErrorCode; message: string }
  /** the text is a single KILL: the broker acts on the target session */
  | { kind: 'local'; target: Session; query: boolean }
  /** forward the client's text with these spans replaced (thread ids translated); `text` is the result as read */
  | { kind: 'forward'; text: string; edits: KillEdit[] };

/** A span of the decoded text (all ASCII: a thread id) and what replaces it. */
export interface KillEdit {
  at: number;
  length: number;
  with: string;
}

/**
 * Every KILL is checked the same way, wherever it stands: its thread id (the broker's from the greeting, or
 * the upstream's from CONNECTION_ID()) must name a live session of the same grant. Defends against one grant
 * interrupting another's work by guessing ids: sessions of different grants may run as the same upstream role,
 * which the server itself would let kill each other. A KILL the broker cannot check (an expression, USER, a
 * query id, a KILL inside PREPARE that runs later) is refused.
 */
export function planKills(text: string, statements: readonly StatementFacts[], self: Session, threads: ThreadIds): KillPlan {
  const kills = statements.filter((st) => st.kill);
  if (!kills.length) return { kind: 'none' };
  const targets = new Map<number, Session>();
  for (const st of kills) {
    const id = st.kill!.thread;
    if (st.nested || id === null) {
      return { kind: 'refuse', code: ErrorCode.FEATURE_NOT_SUPPORTED, message: 'dbwarden: KILL needs a literal thread id through the broker (it checks that the thread belongs to this grant); send KILL [QUERY] <id> as its own statement' };
    }
    const target = threads.get(id, self.grant.target);
    if (!target || target.grant.id !== self.grant.id) return { kind: 'refuse', code: ErrorCode.UNKNOWN_THREAD, message: `Unknown thread id: ${id}` };
    targets.set(id, target);
  }
  const tops = new Set(statements.map((st) => st.index));
  if (tops.size === 1) {
    const st = kills[0]!;
    return { kind: 'local', target: targets.get(st.kill!.thread!)!, query: st.kill!.query };
  }
  // several statements: rewrite each KILL's id where the client wrote it. The facts of one text may hold
  // several readings of it (server version or sql_mode unknown); one top-level fact per statement is used, and
  // a KILL seen in another reading only must be the same one.
  const byIndex = new Map<number, StatementFacts>();
  for (const st of statements) if (!st.nested && !byIndex.has(st.index)) byIndex.set(st.index, st);
  const chosen = [...byIndex.values()].sort((a, b) => a.index - b.index);
  if (kills.some((k) => !chosen.some((c) => c.text === k.text && c.kill?.thread === k.kill!.thread))) return unlocatable();
  let out = '';
  const edits: KillEdit[] = [];
  let copied = 0;
  let search = 0;
  for (const st of chosen) {
    if (st.text === undefined) return unlocatable();
    const at = text.indexOf(st.text, search);
    if (at < 0) return unlocatable();
    search = at + st.text.length;
    if (!st.kill) continue;
    const id = st.kill.thread!;
    // the id is the statement's last token; anything else around it (a comment, a version gate) is refused
    const m = /(\d+)\s*;?$/.exec(st.text);
    if (!m || Number(m[1]) !== id || !/^KILL\b/i.test(st.text)) return unlocatable();
    const upstreamId = threads.upstreamThread(targets.get(id)!);
    if (upstreamId === undefined) return { kind: 'refuse', code: ErrorCode.UNKNOWN_THREAD, message: `Unknown thread id: ${id}` };
    const idAt = at + m.index;
    out += text.slice(copied, idAt) + String(upstreamId);
    edits.push({ at: idAt, length: m[1]!.length, with: String(upstreamId) });
    copied = idAt + m[1]!.length;
  }
  return { kind: 'forward', text: out + text.slice(copied), edits };
}

/**
 * The client's statement bytes with the edits made in place, or null when an edited span cannot be found in
 * them. The bytes are never re-encoded from the decoded text: in a session whose character set is not UTF-8
 * (latin1, or mysql2's CESU-8 form of utf8mb3) that would change every other non-ASCII character. Every
 * decoder the broker uses keeps ASCII bytes as themselves, in order (src/wire/charsets.ts), so the n-th ASCII
 * character of the text is the n-th ASCII byte of the statement; the bytes found there must be the span's text.
 */
export function applyKillEdits(bytes: Buffer, text: string, edits: readonly KillEdit[]): Buffer | null {
  const parts: Buffer[] = [];
  let ci = 0; // text index reached
  let bi = 0; // byte index reached
  let copied = 0;
  for (const e of edits) {
    // walk to the edit's first character, counting ASCII characters and bytes together
    let ascii = 0;
    for (; ci < e.at; ci++) if (text.charCodeAt(ci) < 0x80) ascii++;
    for (; bi < bytes.length && (ascii > 0 || bytes[bi]! >= 0x80); bi++) if (bytes[bi]! < 0x80) ascii--;
    if (bytes.toString('latin1', bi, bi + e.length) !== text.slice(e.at, e.at + e.length)) return null;
    parts.push(bytes.subarray(copied, bi), Buffer.from(e.with, 'latin1'));
    ci = e.at + e.length;
    bi += e.length;
    copied = bi;
  }
  parts.push(bytes.subarray(copied));
  return Buffer.concat(parts);
}

export const KILL_UNLOCATABLE = 'dbwarden: write KILL [QUERY] <id> plainly (no comments around the id) inside a multi-statement text';

function unlocatable(): KillPlan {
  return { kind: 'refuse', code: ErrorCode.FEATURE_NOT_SUPPORTED, message: KILL_UNLOCATABLE };
}
