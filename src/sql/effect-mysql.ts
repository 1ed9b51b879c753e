// MySQL/MariaDB effects that follow from options and shapes rather than the statement kind: DEFINER accounts,
// ALTER IGNORE … ADD UNIQUE, lossy column changes under a relaxed sql_mode, upserts fed from their own table,
// and the server's own procedures that run statements built as text.
import type { Effect, StatementFacts } from './facts.js';
import type { Token } from './mysql-tokens.js';
import { wordsAt } from './mysql-tokens.js';
import { unscopedReason } from './mysql-where-scope.js';
import type { AstNode as Ast } from './ast.js';

// Defends against the same effect reached through another door (issue 12):
//   CREATE|ALTER DEFINER=`root`@`localhost` VIEW/PROCEDURE/FUNCTION/EVENT/TRIGGER — the object runs with the
//     named account's rights for whoever uses it: a privilege change unless the definer is the session itself;
//   ALTER IGNORE TABLE t ADD UNIQUE (c) — MariaDB deletes every row that duplicates another: rows are lost;
//   SET STATEMENT sql_mode='' FOR ALTER TABLE t MODIFY c CHAR(1), or the same ALTER in a session whose sql_mode
//     is relaxed — without strict mode a narrower type cuts every
//     value silently: data is lost, like a DROP of what does not fit;
//   INSERT INTO t … SELECT … FROM t ON DUPLICATE KEY UPDATE / REPLACE INTO t SELECT … FROM t — every row read
//     conflicts with itself and is rewritten: an UPDATE of the whole table;
//   ALTER TABLE t ENGINE = BLACKHOLE / MRG_MyISAM / FEDERATED / … — the table is rebuilt in an engine that does not
//     keep its rows here: a DROP;
//   CALL sys.execute_prepared_stmt('…') and the other sys./mysql. procedures that PREPARE text — dynamic SQL.

export interface MysqlOptionEffects {
  effects: Effect[];
  drops: boolean;
}

/** Effects read from the canonical tokens of one statement (works for parsed and fallback-read statements). */
export function mysqlTokenEffects(tokens: readonly Token[], relaxedSession = false): MysqlOptionEffects {
  const out: MysqlOptionEffects = { effects: [], drops: false };
  if (tokens.length === 0) return out;
  const first = tokens[0]!.value;
  if ((first === 'CREATE' || first === 'ALTER') && tokens[0]!.type === 'word') {
    const at = tokens.findIndex((t, i) => i > 0 && i < 8 && t.type === 'word' && t.value === 'DEFINER');
    if (at > 0 && tokens[at + 1]?.value === '=' && !isCurrentUser(tokens, at + 2)) out.effects.push('dcl');
  }
  if (wordsAt(tokens, 0, 'ALTER', 'IGNORE') && addsUniqueKey(tokens)) out.drops = true;
  if (first === 'ALTER' && tokens[0]!.type === 'word' && rowlessEngine(tokens)) out.drops = true;
  const statementMode = setStatementMode(tokens);
  if (statementMode !== undefined && !strictSqlMode(statementMode.mode) && changesColumnType(tokens, statementMode.body)) out.drops = true;
  // the session's own sql_mode is relaxed (SET sql_mode = '' earlier, or the server's setting): the same loss
  if (relaxedSession && statementMode === undefined && changesColumnType(tokens, 0)) out.drops = true;
  if (first === 'CALL' && SYSTEM_SCHEMAS.has(callSchema(tokens))) out.effects.push('dynamic');
  return out;
}

/**
 * Storage engines that keep, in this server's files, the rows an ALTER TABLE … ENGINE = x copies into them. Any
 * other engine is a drop in disguise, decided by what the engine does with the rows, not by a list of known bad
 * names: `ENGINE = MRG_MyISAM` leaves an empty MERGE table over no tables (every row gone, proven on MariaDB 10.11
 * with the name bare, quoted and back-quoted), BLACKHOLE discards them and every later write, FEDERATED / CONNECT /
 * SPIDER / S3 move them to another server or file, SEQUENCE and engines this list does not know are refused too
 * (fail closed). MEMORY loses every row at the next server restart: not listed either.
 */
const ROW_KEEPING_ENGINES = new Set(['INNODB', 'XTRADB', 'ARIA', 'MYISAM', 'ARCHIVE', 'CSV', 'ROCKSDB', 'TOKUDB', 'COLUMNSTORE', 'MROONGA']);

/** `ENGINE [=] x` / `STORAGE ENGINE` … at any depth of an ALTER (table options, partition options). */
function rowlessEngine(tokens: readonly Token[]): boolean {
  for (let i = 1; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    if (t.type !== 'word' || t.value !== 'ENGINE') continue;
    const v = tokens[i + 1]!.type === 'symbol' && tokens[i + 1]!.value === '=' ? tokens[i + 2] : tokens[i + 1];
    if (v && !ROW_KEEPING_ENGINES.has(v.value.toUpperCase())) return true;
  }
  return false;
}

/**
 * The server's own schemas: their procedures (sys.execute_prepared_stmt, sys.statement_performance_analyzer,
 * sys.table_exists, sys.ps_setup_*, mysql.AddGeometryColumn / DropGeometryColumn, …) build statements as text and
 * PREPARE them, so a CALL of one runs SQL the broker never reads.
 */
const SYSTEM_SCHEMAS = new Set(['sys', 'mysql']);

/** The schema a CALL names (`sys.p`, `sys`.`p`, `sys` . p), lower-case, or ''. */
function callSchema(tokens: readonly Token[]): string {
  const t = tokens[1];
  if (!t) return '';
  const dot = t.type === 'word' ? t.raw.indexOf('.') : -1;
  if (dot > 0) return t.raw.slice(0, dot).toLowerCase();
  return tokens[2]?.value === '.' || tokens[2]?.raw.startsWith('.') ? t.raw.toLowerCase() : '';
}

function isCurrentUser(tokens: readonly Token[], at: number): boolean {
  const t = tokens[at];
  if (t?.type !== 'word' || t.value !== 'CURRENT_USER') return false;
  // CURRENT_USER or CURRENT_USER()
  return true;
}

function addsUniqueKey(tokens: readonly Token[]): boolean {
  for (let i = 0; i < tokens.length - 1; i++) {
    if (tokens[i]!.type !== 'word' || tokens[i]!.value !== 'ADD') continue;
    for (let k = i + 1; k < Math.min(i + 4, tokens.length); k++) {
      const w = tokens[k]!;
      if (w.type === 'word' && (w.value === 'UNIQUE' || w.value === 'PRIMARY')) return true;
    }
  }
  return false;
}

/** `SET STATEMENT sql_mode = '…'[, …] FOR <statement>`: the mode and where the statement starts. */
function setStatementMode(tokens: readonly Token[]): { mode: string; body: number } | undefined {
  if (!wordsAt(tokens, 0, 'SET', 'STATEMENT')) return undefined;
  let mode: string | undefined;
  let i = 2;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'word' && t.value === 'FOR') break;
    if (t.type === 'word' && t.value === 'SQL_MODE' && tokens[i + 1]?.value === '=') {
      const v = tokens[i + 2];
      // a mode given as an expression or variable is not known: treat it as relaxed
      mode = v?.type === 'string' ? v.value : '';
    }
  }
  return mode === undefined ? undefined : { mode, body: i + 1 };
}

/** Whether a sql_mode value makes a value that does not fit an error (rather than a silent cut). */
export function strictSqlMode(mode: string): boolean {
  return /STRICT_(TRANS|ALL)_TABLES|TRADITIONAL/i.test(mode);
}

function changesColumnType(tokens: readonly Token[], from: number): boolean {
  if (!wordsAt(tokens, from, 'ALTER')) return false;
  return tokens.slice(from).some((t) => t.type === 'word' && (t.value === 'MODIFY' || t.value === 'CHANGE' || t.value === 'CONVERT'));
}

/**
 * `INSERT … SELECT … FROM t … ON DUPLICATE KEY UPDATE` and `REPLACE INTO t SELECT … FROM t`: the implied UPDATE of
 * t as a nested fact when the SELECT's WHERE does not narrow t.
 */
export function mysqlUpsertUpdate(s: Ast, base: Pick<StatementFacts, 'index' | 'multiStatement'>): { update?: StatementFacts } | undefined {
  const rewrites = s?.replace_into === true || s?.on?.DuplicateKeyUpdate !== undefined;
  if (!rewrites) return undefined;
  const parts: Ast[] = s.table?.TableName ?? s.table_name ?? [];
  const names = (Array.isArray(parts) ? parts : []).map((p: Ast) => String(p?.Identifier?.value ?? p?.value ?? '')).filter((x: string) => x !== '');
  const target = names[names.length - 1]?.toLowerCase();
  if (target === undefined) return undefined;
  const reads: { names: Set<string>; where: Ast }[] = [];
  collectSelfReads(s.source, target, reads);
  if (reads.length === 0) return undefined;
  const reason = reads.map((r) => (r.where === undefined || r.where === null ? 'the SELECT reads every row of the target' : unscopedReason(r.where, r.names))).find((r) => r !== undefined);
  if (reason === undefined) return {};
  const update: StatementFacts = {
    kind: 'update', effects: ['write'], tables: [{ name: names.join('.'), op: 'write' }], columns: [], functions: [],
    where: 'always-true', limit: 'absent', nested: true, multiStatement: base.multiStatement, index: base.index,
    whereReason: `${s.replace_into ? 'REPLACE' : 'an upsert'} fed from the table it writes rewrites every row it reads: ${reason}`,
  };
  return { update };
}

function collectSelfReads(node: Ast, target: string, out: { names: Set<string>; where: Ast }[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collectSelfReads(n, target, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const sel = node.Select;
  if (sel && Array.isArray(sel.from)) {
    const names = new Set<string>();
    for (const from of sel.from) {
      for (const rel of [from?.relation, ...(from?.joins ?? []).map((j: Ast) => j?.relation)]) {
        const tn: Ast[] = rel?.Table?.name ?? [];
        const last = String(tn[tn.length - 1]?.Identifier?.value ?? '').toLowerCase();
        if (last !== target) continue;
        names.add(target);
        const alias = rel.Table.alias?.name?.value;
        if (typeof alias === 'string') names.add(alias.toLowerCase());
      }
    }
    if (names.size > 0) out.push({ names, where: sel.selection });
  }
  for (const key in node) {
    const v = node[key];
    if (v !== null && typeof v === 'object') collectSelfReads(v, target, out);
  }
}
