// MySQL/MariaDB compound statements (stored routine bodies `BEGIN … END`, IF, CASE, LOOP, WHILE, REPEAT, labels,
// DECLARE … HANDLER, cursors): where the server ends such a statement, and which SQL it runs.
//
// Defends against statements smuggled past the broker by the `;` inside a routine body: the server reads
// `CREATE PROCEDURE p() BEGIN …; …; END` as ONE statement (the `;`s inside end the body's own statements), so a
// splitter that cuts at every `;` reads something else than the server runs. The lexer (mysql-lexer.ts) asks this
// module where a compound body ends, matching nesting the way the server's grammar does (BEGIN…END, IF…END IF,
// CASE…END CASE, LOOP/WHILE/REPEAT…END LOOP/WHILE/REPEAT); the facts (mysql-facts.ts) then read every embedded
// statement and expression as if it were sent. Wherever the server's reading is not certain — END used as a name
// inside a CASE expression, MariaDB FOR loops, anything not listed here — this module throws, and the text is
// refused (fail closed).
import type { Token } from './mysql-tokens.js';

/** Thrown when the text is not a compound statement this module reads exactly as the server does. */
export class CompoundError extends Error {
  constructor(message: string, readonly incomplete = false) {
    super(message);
  }
}

/** Tokens in order; `;` statement separators appear as symbol tokens. */
export interface TokenSource {
  peek(k?: number): Token | undefined;
  next(): Token | undefined;
}

/** One piece of SQL the body runs: a statement, or an expression (read as `SELECT expr`), with its canonical offsets. */
export interface BodyPiece {
  kind: 'statement' | 'expression';
  start: number;
  end: number;
  /** inside LOOP/WHILE/REPEAT or a condition handler: may run any number of times */
  repeated: boolean;
  /** the routine's parameters and the local variables declared where the piece runs (upper-case) */
  variables: ReadonlySet<string>;
}

/** Words that open a compound statement at the start of a routine body (after an optional `label:` for blocks). */
const BLOCK_STARTS = new Set(['BEGIN', 'IF', 'CASE', 'LOOP', 'WHILE', 'REPEAT', 'FOR']);
const LABELLED_STARTS = new Set(['BEGIN', 'LOOP', 'WHILE', 'REPEAT', 'FOR']);
/** Characteristics between a routine's parameter list (or RETURNS type) and its body. */
const CHARACTERISTIC_WORDS = new Set(['LANGUAGE', 'SQL', 'NOT', 'DETERMINISTIC', 'CONTAINS', 'NO', 'READS', 'MODIFIES', 'DATA', 'SECURITY', 'DEFINER', 'INVOKER']);
/**
 * Tokens after which an operand is expected: an END there is a name to the server (`CASE WHEN a THEN end END`), not
 * the CASE's end. The broker does not guess which: it refuses.
 */
const OPERAND_BEFORE = new Set(['THEN', 'ELSE', 'WHEN', 'CASE', 'AND', 'OR', 'XOR', 'NOT', 'IS', 'LIKE', 'REGEXP', 'RLIKE', 'DIV', 'MOD', 'BETWEEN',
  'IN', 'ESCAPE', 'SELECT', 'BINARY', 'INTERVAL', 'DISTINCT', 'ALL', 'ANY', 'SOME', 'EXISTS', 'AS', 'COLLATE', 'UNTIL', 'WHILE', 'IF', 'ELSEIF', 'RETURN', 'DEFAULT']);

export interface RoutineHeader {
  object: 'procedure' | 'function' | 'trigger' | 'event';
  /** token index where the body starts */
  body: number;
  /** DEFINER = … or AGGREGATE: the routine is not read (it runs with another account's rights, or per group) */
  unread: boolean;
}

const isWord = (t: Token | undefined, w: string): boolean => t?.type === 'word' && t.value === w;
const isSym = (t: Token | undefined, s: string): boolean => t?.type === 'symbol' && t.value === s;
const isName = (t: Token | undefined): boolean => t?.type === 'word' || t?.type === 'quoted';

/**
 * Where the body of a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT (or ALTER EVENT … DO) starts, or null when the
 * canonical tokens are not such a statement. Only the header is read: `tokens` may be a prefix.
 */
export function routineHeader(tokens: readonly Token[]): RoutineHeader | null {
  let k = 0;
  const alter = isWord(tokens[0], 'ALTER');
  if (!alter && !isWord(tokens[0], 'CREATE')) return null;
  k++;
  if (!alter && isWord(tokens[k], 'OR') && isWord(tokens[k + 1], 'REPLACE')) k += 2;
  let unread = false;
  if (isWord(tokens[k], 'DEFINER')) {
    unread = true;
    // the account runs to the object word: `'u'@'h'`, `u@h`, CURRENT_USER[()], a role
    const limit = k + 10;
    while (k < limit && tokens[k] && !['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'AGGREGATE'].includes(tokens[k]!.type === 'word' ? tokens[k]!.value : '')) k++;
  }
  if (isWord(tokens[k], 'AGGREGATE')) {
    unread = true;
    k++;
  }
  const w = tokens[k]?.type === 'word' ? tokens[k]!.value : '';
  if (alter && w !== 'EVENT') return null;
  if (w !== 'PROCEDURE' && w !== 'FUNCTION' && w !== 'TRIGGER' && w !== 'EVENT') return null;
  const object = w.toLowerCase() as RoutineHeader['object'];
  k++;
  if (isWord(tokens[k], 'IF') && isWord(tokens[k + 1], 'NOT') && isWord(tokens[k + 2], 'EXISTS')) k += 3;
  k = skipName(tokens, k);
  if (object === 'event') {
    // the body follows the first DO outside parentheses (DO is reserved: never a name)
    let depth = 0;
    for (; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (isSym(t, '(')) depth++;
      else if (isSym(t, ')')) depth--;
      else if (depth === 0 && isWord(t, 'DO')) return { object, body: k + 1, unread };
    }
    return null;
  }
  if (object === 'trigger') {
    // {BEFORE|AFTER} {INSERT|UPDATE|DELETE} ON tbl FOR EACH ROW [{FOLLOWS|PRECEDES} other]
    if (!isWord(tokens[k], 'BEFORE') && !isWord(tokens[k], 'AFTER')) return null;
    k += 2;
    if (!isWord(tokens[k], 'ON')) return null;
    k = skipName(tokens, k + 1);
    if (!(isWord(tokens[k], 'FOR') && isWord(tokens[k + 1], 'EACH') && isWord(tokens[k + 2], 'ROW'))) return null;
    k += 3;
    if (isWord(tokens[k], 'FOLLOWS') || isWord(tokens[k], 'PRECEDES')) k = skipName(tokens, k + 1);
    return { object, body: k, unread };
  }
  if (!isSym(tokens[k], '(')) return null;
  k = skipParens(tokens, k);
  if (k < 0) return null;
  if (object === 'function') {
    if (!isWord(tokens[k], 'RETURNS')) return null;
    k++;
    // the return type runs to the first characteristic, COMMENT, or the body
    while (k < tokens.length) {
      const t = tokens[k]!;
      if (t.type === 'word' && ((CHARACTERISTIC_WORDS.has(t.value) && t.value !== 'DATA') || t.value === 'COMMENT' || t.value === 'RETURN' || BLOCK_STARTS.has(t.value))) break;
      if (isName(t) && isSym(tokens[k + 1], ':')) break;
      if (isSym(t, '(')) {
        k = skipParens(tokens, k);
        if (k < 0) return null;
      } else k++;
    }
  }
  for (;;) {
    if (isWord(tokens[k], 'COMMENT') && tokens[k + 1]?.type === 'string') k += 2;
    else if (tokens[k]?.type === 'word' && CHARACTERISTIC_WORDS.has(tokens[k]!.value)) k++;
    else break;
  }
  return { object, body: k, unread };
}

/** Whether the statement starting at token k is a compound statement (a block, a condition or a loop). */
export function compoundAt(tokens: readonly Token[], k: number): boolean {
  const t = tokens[k];
  if (t?.type !== 'word') return isName(t) && isSym(tokens[k + 1], ':') && tokens[k + 2]?.type === 'word' && LABELLED_STARTS.has(tokens[k + 2]!.value);
  if (BLOCK_STARTS.has(t.value)) return true;
  return isSym(tokens[k + 1], ':') && tokens[k + 2]?.type === 'word' && LABELLED_STARTS.has(tokens[k + 2]!.value);
}

function skipName(tokens: readonly Token[], k: number): number {
  if (!isName(tokens[k])) return k;
  k++;
  while (isSym(tokens[k], '.') && isName(tokens[k + 1])) k += 2;
  return k;
}

/** Index after the parenthesis group opening at k, or -1 when it does not close. */
function skipParens(tokens: readonly Token[], k: number): number {
  let depth = 0;
  for (let j = k; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (isSym(t, '(')) depth++;
    else if (isSym(t, ')') && --depth === 0) return j + 1;
  }
  return -1;
}

/** Tokens of an array as a source. */
export function arraySource(tokens: readonly Token[], from = 0): TokenSource {
  let i = from;
  return {
    peek: (k = 0) => tokens[i + k],
    next: () => tokens[i++],
  };
}

/**
 * Reads one compound statement from `src` (positioned at its first token) to the end of its closing END, as the
 * server's grammar nests it. The statements and expressions it runs go to `pieces` (when given). Throws
 * CompoundError (incomplete: the tokens ran out first).
 */
export function readCompound(src: TokenSource, pieces?: BodyPiece[], parameters: ReadonlySet<string> = new Set()): void {
  new Reader(src, pieces, parameters).statement(0);
}

/** The parameter names of the routine whose header is `tokens` (upper-case), from its parenthesised list. */
export function routineParameters(tokens: readonly Token[]): Set<string> {
  const out = new Set<string>();
  const open = tokens.findIndex((t) => isSym(t, '('));
  if (open < 0) return out;
  let depth = 0;
  let expectName = true;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (isSym(t, '(')) depth++;
    else if (isSym(t, ')')) {
      if (--depth === 0) break;
    } else if (depth === 1 && isSym(t, ',')) expectName = true;
    else if (depth === 1 && expectName) {
      if (t.type === 'word' && ['IN', 'OUT', 'INOUT'].includes(t.value) && isName(tokens[k + 1]) && !isSym(tokens[k + 1], ',')) continue;
      // names compare case-insensitively: quoted ones too
      if (t.type === 'word') out.add(t.value);
      else if (t.type === 'quoted') out.add(t.value.toUpperCase());
      expectName = false;
    }
  }
  return out;
}

class Reader {
  /** variables declared per open BEGIN block, innermost last */
  private readonly scopes: Set<string>[];
  /** blocks, conditions and loops open */
  private nesting = 0;

  constructor(private readonly src: TokenSource, private readonly pieces: BodyPiece[] | undefined, parameters: ReadonlySet<string>) {
    this.scopes = [new Set(parameters)];
  }

  private variables(): Set<string> {
    const out = new Set<string>();
    for (const s of this.scopes) for (const v of s) out.add(v);
    return out;
  }

  private fail(why: string): never {
    throw new CompoundError(why, this.src.peek() === undefined);
  }

  private take(): Token {
    const t = this.src.next();
    if (!t) this.fail('compound statement not closed');
    return t;
  }

  private word(w: string): void {
    const t = this.take();
    if (!isWord(t, w)) this.fail(`expected ${w} in a compound statement, found ${t.raw}`);
  }

  private atWord(w: string, k = 0): boolean {
    return isWord(this.src.peek(k), w);
  }

  private piece(kind: BodyPiece['kind'], first: Token | undefined, endBefore: Token | undefined, repeat: number): void {
    if (!first || !endBefore || first === endBefore) this.fail(`empty ${kind} in a compound statement`);
    this.pieces?.push({ kind, start: first.start, end: endBefore.start, repeated: repeat > 0, variables: this.variables() });
  }

  /** A statement (not its `;`). */
  statement(repeat: number): void {
    const t = this.src.peek();
    if (!t) this.fail('compound statement not closed');
    if (isName(t) && isSym(this.src.peek(1), ':')) {
      // a label: only blocks and loops take one
      const what = this.src.peek(2);
      if (!(what?.type === 'word' && LABELLED_STARTS.has(what.value))) this.fail('label before a statement that takes none');
      this.take();
      this.take();
      this.block(repeat, true);
      return;
    }
    if (t.type === 'word' && BLOCK_STARTS.has(t.value)) {
      this.block(repeat, false);
      return;
    }
    if (t.type !== 'word') return this.simple(repeat);
    switch (t.value) {
      case 'DECLARE':
        return this.declare(repeat);
      case 'RETURN': {
        this.take();
        const first = this.src.peek();
        const end = this.toSeparator();
        return this.piece('expression', first, end, repeat);
      }
      case 'LEAVE':
      case 'ITERATE':
      case 'OPEN':
      case 'CLOSE':
        // a label or a cursor name, nothing else (MariaDB's OPEN c(args) is not read)
        this.take();
        if (!isName(this.take())) this.fail(`${t.value} without a name`);
        this.expectEnd();
        return;
      case 'FETCH':
        return this.plain(['FETCH', 'NEXT', 'FROM', 'INTO'], false);
      case 'SIGNAL':
      case 'RESIGNAL':
        return this.plain(['SIGNAL', 'RESIGNAL', 'SQLSTATE', 'VALUE', 'SET'], true);
      case 'GET':
        return this.plain(['GET', 'CURRENT', 'STACKED', 'DIAGNOSTICS', 'CONDITION'], true);
      case 'END':
      case 'ELSE':
      case 'ELSEIF':
      case 'WHEN':
      case 'UNTIL':
        return this.fail(`${t.value} where a statement was expected`);
      default:
        return this.simple(repeat);
    }
  }

  /** A plain statement to its `;`: a piece of SQL the body runs. */
  private simple(repeat: number): void {
    const first = this.src.peek();
    const routine = isWord(first, 'CREATE') || isWord(first, 'ALTER');
    const head: Token[] = [];
    let end: Token | undefined;
    for (;;) {
      const t = this.src.peek();
      if (!t) this.fail('compound statement not closed');
      if (isSym(t, ';')) {
        end = t;
        break;
      }
      if (routine) head.push(t);
      this.take();
    }
    // a CREATE EVENT (or routine) inside the body with a compound body of its own: its inner `;` do not end it on
    // the server, so the statement cannot be read up to its first `;`
    if (routine) {
      const h = routineHeader(head);
      if (h && compoundAt(head, h.body)) this.fail('a compound statement inside a statement of the body');
    }
    this.piece('statement', first, end, repeat);
  }

  /** The separator (or end) after the current statement, not consumed; every token before it consumed. */
  private toSeparator(): Token | undefined {
    for (;;) {
      const t = this.src.peek();
      if (!t) this.fail('compound statement not closed');
      if (isSym(t, ';')) return t;
      this.take();
    }
  }

  /** The next token must end the statement. */
  private expectEnd(): void {
    const t = this.src.peek();
    if (!t) this.fail('compound statement not closed');
    if (!isSym(t, ';')) this.fail(`unexpected ${t.raw} in a compound statement`);
  }

  /**
   * A statement without SQL in it (FETCH, SIGNAL, GET DIAGNOSTICS): only names, literals, `=`, `,` and its own
   * keywords; anything else is not read.
   */
  private plain(keywords: string[], values: boolean): void {
    for (;;) {
      const t = this.src.peek();
      if (!t) this.fail('compound statement not closed');
      if (isSym(t, ';')) return;
      const ok = (t.type === 'word' && (keywords.includes(t.value) || !t.value.startsWith('@@'))) || t.type === 'quoted' || isSym(t, ',')
        || (values && (t.type === 'string' || t.type === 'number' || isSym(t, '=')));
      if (!ok) this.fail(`unexpected ${t.raw} in ${keywords[0]}`);
      this.take();
    }
  }

  private declare(repeat: number): void {
    this.word('DECLARE');
    const a = this.src.peek();
    const b = this.src.peek(1);
    if (a?.type === 'word' && ['CONTINUE', 'EXIT', 'UNDO'].includes(a.value) && isWord(b, 'HANDLER')) {
      this.take();
      this.take();
      this.word('FOR');
      for (;;) {
        const c = this.take();
        if (isWord(c, 'SQLSTATE')) {
          if (this.atWord('VALUE')) this.take();
          if (this.take().type !== 'string') this.fail('SQLSTATE without a value');
        } else if (isWord(c, 'NOT')) {
          this.word('FOUND');
        } else if (c.type !== 'number' && !isName(c)) {
          this.fail(`unexpected ${c.raw} in a handler's conditions`);
        }
        if (!isSym(this.src.peek(), ',')) break;
        this.take();
      }
      // a handler runs whenever its condition is raised, which a loop elsewhere in the block may do many times
      this.statement(repeat + 1);
      return;
    }
    if (isName(a) && isWord(b, 'CONDITION')) {
      this.take();
      this.take();
      return this.plain(['FOR', 'SQLSTATE', 'VALUE'], true);
    }
    if (isName(a) && isWord(b, 'CURSOR')) {
      this.take();
      this.take();
      if (isSym(this.src.peek(), '(')) this.fail('cursor parameters are not read');
      this.word('FOR');
      // the cursor's query runs at OPEN: read as if sent
      return this.simple(repeat);
    }
    // DECLARE name[, name] type [DEFAULT expr]: the names are variables from here to the end of the block
    const declared: string[] = [];
    for (;;) {
      const n = this.take();
      if (n.type !== 'word') this.fail('variable name expected after DECLARE');
      declared.push(n.value);
      if (!isSym(this.src.peek(), ',')) break;
      this.take();
    }
    let depth = 0;
    try {
      for (;;) {
        const t = this.src.peek();
        if (!t) this.fail('compound statement not closed');
        if (isSym(t, ';')) return;
        this.take();
        if (isSym(t, '(')) depth++;
        else if (isSym(t, ')')) depth--;
        else if (depth === 0 && isWord(t, 'DEFAULT')) {
          const first = this.src.peek();
          const end = this.toSeparator();
          return this.piece('expression', first, end, repeat);
        }
      }
    } finally {
      for (const n of declared) this.scopes[this.scopes.length - 1]!.add(n);
    }
  }

  /** A block, condition or loop whose first word is next (its label, if any, already taken). */
  private block(repeat: number, labelled: boolean): void {
    this.nesting++;
    try {
      this.blockBody(repeat, labelled);
    } finally {
      this.nesting--;
    }
  }

  private blockBody(repeat: number, labelled: boolean): void {
    const t = this.take();
    switch (t.value) {
      case 'BEGIN':
        if (this.atWord('NOT') && this.atWord('ATOMIC', 1)) {
          // the server takes no label on a NOT ATOMIC block (a syntax error): refused rather than guessed
          if (labelled) this.fail('a label on BEGIN NOT ATOMIC');
          this.take();
          this.take();
        }
        this.scopes.push(new Set());
        this.list(['END'], repeat);
        this.scopes.pop();
        this.word('END');
        break;
      case 'IF':
        if (labelled) this.fail('label before IF');
        this.expression(['THEN'], repeat);
        this.word('THEN');
        for (;;) {
          const at = this.list(['ELSEIF', 'ELSE', 'END'], repeat);
          this.take();
          if (at === 'ELSEIF') {
            this.expression(['THEN'], repeat);
            this.word('THEN');
          } else if (at === 'ELSE') {
            this.list(['END'], repeat);
            this.word('END');
            break;
          } else break;
        }
        this.word('IF');
        return;
      case 'CASE':
        if (labelled) this.fail('label before CASE');
        if (!this.atWord('WHEN')) this.expression(['WHEN'], repeat);
        this.word('WHEN');
        for (;;) {
          this.expression(['THEN'], repeat);
          this.word('THEN');
          const at = this.list(['WHEN', 'ELSE', 'END'], repeat);
          this.take();
          if (at === 'ELSE') {
            this.list(['END'], repeat);
            this.word('END');
            break;
          }
          if (at === 'END') break;
        }
        this.word('CASE');
        return;
      case 'LOOP':
        this.list(['END'], repeat + 1);
        this.word('END');
        this.word('LOOP');
        break;
      case 'WHILE':
        this.expression(['DO'], repeat + 1);
        this.word('DO');
        this.list(['END'], repeat + 1);
        this.word('END');
        this.word('WHILE');
        break;
      case 'REPEAT':
        this.list(['UNTIL'], repeat + 1);
        this.word('UNTIL');
        this.expression(['END'], repeat + 1);
        this.word('END');
        this.word('REPEAT');
        break;
      default:
        // MariaDB FOR loops (ranges, cursors, queries) are not read
        this.fail(`${t.value} loops are not read`);
    }
    // the end label: `END [label]`, `END LOOP [label]`, …
    if (isName(this.src.peek())) this.take();
  }

  /** Statements, each with its `;`, up to one of the closing words at the start of a statement (not consumed). */
  private list(closers: string[], repeat: number): string {
    for (;;) {
      const t = this.src.peek();
      if (!t) this.fail('compound statement not closed');
      if (t.type === 'word' && closers.includes(t.value)) return t.value;
      this.statement(repeat);
      const sep = this.take();
      if (!isSym(sep, ';')) this.fail(`expected ; after a statement in a compound statement, found ${sep.raw}`);
    }
  }

  /**
   * An expression up to one of the terminator words outside parentheses and CASE expressions (not consumed): a
   * piece of SQL the body evaluates, read as `SELECT expr`.
   */
  private expression(terminators: string[], repeat: number): void {
    const first = this.src.peek();
    let depth = 0;
    /** parenthesis depth at which each open CASE expression started */
    const cases: number[] = [];
    let prev: Token | undefined;
    for (;;) {
      const t = this.src.peek();
      if (!t) this.fail('compound statement not closed');
      if (isSym(t, ';')) this.fail('statement ended inside a condition');
      if (isSym(t, '(')) depth++;
      else if (isSym(t, ')')) {
        if (--depth < 0) this.fail('unbalanced parenthesis in a condition');
      } else if (t.type === 'word') {
        const open = cases.length > 0 && cases[cases.length - 1] === depth;
        if (t.value === 'CASE') cases.push(depth);
        else if (t.value === 'END' && open) {
          // END closes the CASE only after an operand; after an operator or a keyword it is a name (refused)
          if (!prev || (prev.type === 'symbol' && prev.value !== ')') || (prev.type === 'word' && OPERAND_BEFORE.has(prev.value))) this.fail('END used as a name inside a CASE expression');
          cases.pop();
        } else if (depth === 0 && cases.length === 0 && terminators.includes(t.value)) {
          if (t.value === 'END' && prev && ((prev.type === 'symbol' && prev.value !== ')') || (prev.type === 'word' && OPERAND_BEFORE.has(prev.value)))) this.fail('END used as a name in a condition');
          return this.piece('expression', first, t, repeat);
        } else if (depth === 0 && cases.length === 0 && ['THEN', 'ELSE', 'WHEN', 'DO', 'END', 'ELSEIF', 'UNTIL', 'BEGIN', 'DECLARE'].includes(t.value)) {
          this.fail(`unexpected ${t.value} in a condition`);
        }
      }
      prev = t;
      this.take();
    }
  }
}
