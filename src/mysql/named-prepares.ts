// SQL-level prepared statements of one MySQL session (PREPARE name FROM '…' / EXECUTE name / DEALLOCATE) as the broker read them.
import type { StatementFacts } from '../sql/facts.js';

// `EXECUTE name` names SQL the broker cannot see in that text, so on its own it is refused as dynamic. When the
// same session prepared `name` from a string literal that passed the rules, the broker knows what EXECUTE runs:
// it decides the EXECUTE as that statement, re-read now (the grant may have changed since), with the parameters
// only as values. Defends against a name prepared from a variable (`PREPARE s FROM @q`) or a refused literal
// passing as a known one: a PREPARE the server ran from a variable forgets the literal (it replaced the name on
// the server), and a refused PREPARE never reached the server, so the earlier statement of that name still holds.

export class NamedPrepares {
  /** lower-case name → the literal SQL text the server holds under it */
  private readonly texts = new Map<string, string>();

  get size(): number {
    return this.texts.size;
  }

  /**
   * Facts in which each EXECUTE of a known name is replaced by an EXECUTE without the dynamic effect followed by
   * the facts of the statement it runs (nested); undefined when nothing changes. Prepares earlier in the same
   * text count for later EXECUTEs.
   */
  expand(statements: readonly StatementFacts[], read: (text: string) => StatementFacts[]): StatementFacts[] | undefined {
    if (!statements.some((s) => s.prepared?.op === 'execute')) return undefined;
    const known = new Map(this.texts);
    let changed = false;
    const out: StatementFacts[] = [];
    for (const s of statements) {
      const p = s.prepared;
      if (p && !s.nested) {
        if (p.op === 'prepare' && p.text !== undefined) known.set(p.name, p.text);
        else if (p.op === 'prepare' || p.op === 'deallocate') known.delete(p.name);
      }
      const text = p?.op === 'execute' && !s.nested ? known.get(p.name) : undefined;
      if (text === undefined) {
        out.push(s);
        continue;
      }
      changed = true;
      const inner = read(text).map((f): StatementFacts => {
        const g: StatementFacts = { ...f, nested: true, index: s.index, multiStatement: s.multiStatement };
        delete g.text;
        return g;
      });
      // an EXECUTE of a prepared SET sql_mode / NAMES / character_set_client changes how the rest of this text is
      // read, and the rest was read before it ran (`EXECUTE s; DELETE … WHERE v = "v"` after PREPARE s FROM
      // 'SET sql_mode=''ANSI_QUOTES'''): like such a SET itself, it must be sent on its own
      if (inner.some((f) => f.reading) && statements.some((t) => !t.nested && t.index > s.index)) {
        return [{
          kind: 'unparsed', effects: [], tables: [], columns: [], functions: [], where: null, limit: null, nested: false,
          multiStatement: true, index: 0,
          error: `EXECUTE ${p!.name} runs a statement that changes how text is read (SET sql_mode, NAMES, character_set_client): send it on its own, the statements after it in the same text could be read differently by the server`,
        }];
      }
      const first = inner[0];
      out.push({ ...s, effects: [...new Set([...s.effects.filter((e) => e !== 'dynamic'), ...(first?.effects ?? [])])] }, ...inner);
    }
    return changed ? out : undefined;
  }

  /** Records what a forwarded text did to the session's prepared statements. */
  observe(statements: readonly StatementFacts[]): void {
    for (const s of statements) {
      const p = s.prepared;
      if (!p || s.nested) continue;
      if (p.op === 'prepare' && p.text !== undefined) this.texts.set(p.name, p.text);
      else if (p.op === 'prepare' || p.op === 'deallocate') this.texts.delete(p.name);
    }
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER drop every prepared statement on the server. */
  clear(): void {
    this.texts.clear();
  }
}
