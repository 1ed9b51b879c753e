// Keeps the module graph as ARCHITECTURE.md draws it: reads every import under src/ and fails on a forbidden edge.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

/** module → modules it may import (ARCHITECTURE.md, "Dependency direction"). */
const ALLOWED: Record<string, string[]> = {
  errors: [], log: [], metrics: [], wire: [], auth: [],
  // the access levels, defined once (a leaf)
  access: [],
  config: ['errors', 'access'],
  sql: ['errors'],
  rules: ['sql', 'errors', 'access'],
  // grants uses config's duration parser (a pure leaf) besides config's types
  grants: ['auth', 'errors', 'config', 'audit', 'metrics', 'rules', 'log', 'access'],
  audit: ['log'],
  session: ['sql', 'rules', 'grants', 'audit', 'metrics', 'log', 'errors', 'config'],
  // the protocol modules take the core's final answer from session/ (session/verdict.ts), never from rules/
  pg: ['wire', 'auth', 'session', 'metrics', 'log', 'errors', 'config', 'grants', 'audit', 'sql'],
  mysql: ['wire', 'auth', 'session', 'metrics', 'log', 'errors', 'config', 'grants', 'audit', 'sql'],
  admin: ['session', 'grants', 'rules', 'metrics', 'log', 'errors', 'config', 'audit', 'sql', 'access'],
  demo: [],
  // outgoing webhooks: a leaf fed with audit-shaped events by main
  notify: ['errors', 'log', 'metrics'],
  cli: ['config', 'rules', 'sql', 'audit', 'errors', 'access'],
  main: ['*'],
  // the executable: dispatches to main (serve, demo) or cli (everything else)
  bin: ['main', 'cli', 'errors'],
  // the web console's browser code (built by tsconfig.ui.json): talks to admin over HTTP only
  ui: [],
};
/** Edges that are allowed only as `import type` (shapes, no code). */
const TYPE_ONLY: Record<string, string[]> = {
  grants: ['audit', 'metrics', 'rules', 'log'],
  session: ['config'],
  pg: ['config', 'grants', 'audit', 'sql'],
  mysql: ['config', 'grants', 'audit', 'sql'],
  admin: ['config', 'audit', 'sql'],
  notify: ['metrics'],
};

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

describe('module dependency direction', () => {
  const files = walk(SRC);
  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('has no forbidden import edge', () => {
    const violations: string[] = [];
    const re = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm;
    for (const file of files) {
      const from = moduleOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(re)) {
        const to = moduleOf(resolve(dirname(file), m[3]!));
        if (to === from) continue;
        const allowed = ALLOWED[from] ?? [];
        const isType = !!m[2];
        const ok = allowed.includes('*') || (allowed.includes(to) && (isType || !(TYPE_ONLY[from] ?? []).includes(to)));
        if (!ok) violations.push(`${relative(SRC, file)} → ${to}${isType ? ' (type)' : ''}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('never lets pg and mysql import each other', () => {
    expect(ALLOWED.pg).not.toContain('mysql');
    expect(ALLOWED.mysql).not.toContain('pg');
  });
});
