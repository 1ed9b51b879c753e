// Keeps the module graph and docs/architecture.md the same: reads every import under src/ (static and dynamic)
// and the module table of the document, and fails on an import the table does not allow or an edge nobody uses.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');
const DOC = resolve('docs/architecture.md');

function moduleOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return first.replace(/\.(ts|js)$/, '');
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** module → module → 'type' when every import of the edge is `import type`, else 'value'; with where each is. */
function actualEdges(files: string[]): Map<string, Map<string, { kind: 'type' | 'value'; at: string }>> {
  const edges = new Map<string, Map<string, { kind: 'type' | 'value'; at: string }>>();
  const staticRe = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm;
  const dynamicRe = /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of files) {
    const from = moduleOf(file);
    const text = readFileSync(file, 'utf8');
    const found: [string, boolean][] = [
      ...[...text.matchAll(staticRe)].map((m): [string, boolean] => [m[3]!, !!m[2]]),
      ...[...text.matchAll(dynamicRe)].map((m): [string, boolean] => [m[1]!, false]),
    ];
    for (const [spec, isType] of found) {
      const to = moduleOf(resolve(dirname(file), spec));
      if (to === from) continue;
      const m = edges.get(from) ?? new Map();
      edges.set(from, m);
      const prev = m.get(to);
      if (!prev || (prev.kind === 'type' && !isType)) m.set(to, { kind: isType ? 'type' : 'value', at: relative(SRC, file) });
    }
  }
  return edges;
}

/** The document's table: module → module → 'type' | 'value'. */
function documentedEdges(): Map<string, Map<string, 'type' | 'value'>> {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf('| module | may import |');
  expect(start, 'docs/architecture.md has the module table').toBeGreaterThan(0);
  const rows = doc.slice(start).split('\n').slice(2).filter((l) => l.startsWith('|'));
  const out = new Map<string, Map<string, 'type' | 'value'>>();
  for (const row of rows) {
    const [, mod, list] = row.split('|').map((c) => c.trim());
    const m = new Map<string, 'type' | 'value'>();
    for (const item of (list ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const t = /^(\w+)( \(type\))?$/.exec(item);
      expect(t, `table entry "${item}" of ${mod}`).not.toBeNull();
      m.set(t![1]!, t![2] ? 'type' : 'value');
    }
    out.set(mod!, m);
  }
  return out;
}

describe('module dependency direction (docs/architecture.md)', () => {
  const files = walk(SRC);
  const actual = actualEdges(files);
  const documented = documentedEdges();

  it('finds the source tree and a table row for every module', () => {
    expect(files.length).toBeGreaterThan(20);
    const modules = new Set(files.map(moduleOf));
    modules.delete('main');
    expect([...modules].filter((m) => !documented.has(m))).toEqual([]);
  });

  it('has no import the document does not allow', () => {
    const violations: string[] = [];
    for (const [from, tos] of actual) {
      if (from === 'main') continue;
      for (const [to, { kind, at }] of tos) {
        const allowed = documented.get(from)?.get(to);
        if (!allowed || (allowed === 'type' && kind === 'value')) violations.push(`${at} → ${to}${kind === 'type' ? ' (type)' : ''}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('lists no edge the code does not use, and marks type-only edges as they are', () => {
    const stale: string[] = [];
    for (const [from, tos] of documented) {
      for (const [to, kind] of tos) {
        const used = actual.get(from)?.get(to);
        if (!used || used.kind !== kind) stale.push(`${from} → ${to} (${kind}; code: ${used?.kind ?? 'unused'})`);
      }
    }
    expect(stale).toEqual([]);
  });

  it('keeps the fixed rules: pg and mysql never meet, the core never reaches a protocol or admin, only bin imports main', () => {
    expect(documented.get('pg')?.has('mysql')).toBe(false);
    expect(documented.get('mysql')?.has('pg')).toBe(false);
    for (const core of ['sql', 'rules', 'grants', 'session']) {
      for (const up of ['pg', 'mysql', 'admin']) expect(documented.get(core)?.has(up), `${core} → ${up}`).toBe(false);
    }
    for (const [from, tos] of documented) if (from !== 'bin') expect(tos.has('main'), `${from} → main`).toBe(false);
    // the protocol modules take the core's answer from session/, never from rules/
    expect(documented.get('pg')?.has('rules')).toBe(false);
    expect(documented.get('mysql')?.has('rules')).toBe(false);
  });
});
