// Loads dbwarden.yaml: YAML with positions, ${ENV} substitution, schema validation, file:line errors, path resolution.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { BrokerError, ErrorCode } from '../errors.js';
import { ConfigSchema, type Config } from './schema.js';

type PathSeg = string | number;

export interface ConfigIssue {
  file: string;
  line: number;
  /** dotted key path, e.g. targets.app.tls or access[1].maxTtl; empty for the whole document */
  path: string;
  message: string;
}

/** Reads and validates a config file. Every problem is a BrokerError(BRK_CONFIG_INVALID), one issue per line. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new BrokerError(ErrorCode.CONFIG_INVALID, `${displayName(file)}: cannot read config: ${why}`, { cause: e });
  }
  return parseConfig(text, file, env);
}

/** Validates config text; `file` names it in messages and anchors relative paths (its folder). */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const name = displayName(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);

  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({ file: name, line: lineAt(e.pos[0]), path: '', message: firstLine(e.message) }));
    throw configError(issues);
  }

  const issues: ConfigIssue[] = [];
  const unsetPaths = new Set<string>();
  substituteEnv(doc.contents, [], env, (node, path, variable) => {
    unsetPaths.add(formatPath(path));
    issues.push({ file: name, line: lineAt(node.range?.[0]), path: formatPath(path), message: `environment variable ${variable} is not set` });
  });

  const data = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  const result = ConfigSchema.safeParse(data);
  if (!result.success) {
    for (const raw of result.error.issues) {
      for (const { path, message } of describeIssue(raw, data)) {
        // The unset variable is the problem; "must not be empty" on the same key would only be noise.
        if (unsetPaths.has(formatPath(path))) continue;
        issues.push({ file: name, line: lineAt(locate(doc, path)), path: formatPath(path), message });
      }
    }
  }
  if (issues.length > 0 || !result.success) throw configError(issues);
  return resolvePaths(result.data, dirname(resolve(file)));
}

function configError(issues: ConfigIssue[]): BrokerError {
  const sorted = [...issues].sort((a, b) => a.line - b.line);
  const message = sorted.map((i) => `${i.file}:${i.line}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n');
  return new BrokerError(ErrorCode.CONFIG_INVALID, message || 'invalid configuration', { issues: sorted });
}

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces ${NAME} in string scalars (never in keys); "$${" stays a literal "${". Results are always
 * strings; the schema reads digit strings where it wants an integer (port: ${DB_PORT}).
 */
function substituteEnv(
  node: unknown,
  path: PathSeg[],
  env: NodeJS.ProcessEnv,
  onMissing: (node: Node, path: PathSeg[], variable: string) => void,
): void {
  if (isMap(node)) {
    for (const pair of node.items) substituteEnv(pair.value, [...path, keyName(pair.key)], env, onMissing);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => substituteEnv(item, [...path, i], env, onMissing));
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
    node.value = node.value.replace(ENV_REF, (_match, variable: string | undefined) => {
      if (variable === undefined) return '${';
      const value = env[variable];
      if (value === undefined) {
        onMissing(node, path, variable);
        return '';
      }
      return value;
    });
  }
}

function keyName(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Turns one zod issue into messages with full paths; unknown keys get one message each, at the key. */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): { path: PathSeg[]; message: string }[] {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ path: [...path, k], message: 'unknown key' }));
    case 'invalid_type': {
      const value = valueAt(data, path);
      if (value === undefined) return [{ path, message: 'required' }];
      // Never echo what was written under a secret-looking key: error messages end up in logs.
      const secret = path.some((seg) => typeof seg === 'string' && SECRET_KEY.test(seg));
      return [{ path, message: `expected ${issue.expected}, got ${secret ? typeName(value) : kindOf(value)}` }];
    }
    case 'invalid_value':
      return [{ path, message: `expected ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.join('|')}`}` }];
    case 'too_small':
      if (issue.origin === 'array') return [{ path, message: `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}` }];
      if (issue.origin === 'string') return [{ path, message: 'must not be empty' }];
      return [{ path, message: `must be at least ${issue.minimum}` }];
    case 'too_big':
      if (issue.origin === 'array') return [{ path, message: `expected at most ${issue.maximum} items` }];
      return [{ path, message: `must be at most ${issue.maximum}` }];
    case 'invalid_union':
      return [{ path, message: 'does not match any allowed form' }];
    default:
      return [{ path, message: issue.message }];
  }
}

function valueAt(data: unknown, path: PathSeg[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

const SECRET_KEY = /password|secret|token/i;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : typeof value;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Source offset for a key path: the key itself for mapping entries (so unknown keys point at their line),
 * the item for list entries, and the nearest existing parent when the path runs past the document.
 */
function locate(doc: Document, path: PathSeg[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyName(p.key) === String(seg));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function formatPath(path: PathSeg[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** The file as the user will recognise it: relative to the working folder when inside it. */
function displayName(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file);
}

/** Relative paths in the file mean "relative to the file", not to wherever the broker was started. */
function resolvePaths(c: Config, base: string): Config {
  const abs = (p: string) => resolve(base, p);
  const opt = (p: string | undefined) => (p === undefined ? undefined : abs(p));
  const targets = Object.fromEntries(
    Object.entries(c.targets).map(([name, t]) => [name, t.caFile === undefined ? t : { ...t, caFile: abs(t.caFile) }]),
  );
  return {
    ...c,
    tls: { ...c.tls, certFile: opt(c.tls.certFile), keyFile: opt(c.tls.keyFile) },
    state: { ...c.state, dir: abs(c.state.dir) },
    audit: { ...c.audit, file: abs(c.audit.file) },
    rules: abs(c.rules),
    targets,
  };
}
