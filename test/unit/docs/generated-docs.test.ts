// The shipped reference pages match what the code generates (run `npm run docs` after changing help or schema),
// and no shipped file points outside the repository.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXTRA_PATHS, ROUTE_DOCS } from '../../../src/admin/openapi.js';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, cliReference, configKeyTable, metricsReference } from '../../../src/cli/docs-gen.js';

describe('generated docs', () => {
  it('docs/cli.md is the commands\' own help', () => {
    expect(readFileSync('docs/cli.md', 'utf8')).toBe(cliReference());
  });

  it('docs/metrics.md lists every dbwarden metric of the registry', () => {
    const page = readFileSync('docs/metrics.md', 'utf8');
    expect(page).toBe(metricsReference());
    for (const name of ['dbwarden_statements_total', 'dbwarden_row_limit_refusals_total', 'dbwarden_statement_check_seconds']) {
      expect(page).toContain(`| \`${name}\` |`);
    }
  });

  it('docs/api.md has a row for every route of the OpenAPI document', () => {
    const page = readFileSync('docs/api.md', 'utf8');
    const routes = [...Object.keys(ROUTE_DOCS), ...Object.keys(EXTRA_PATHS).map((p) => `GET ${p}`)];
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) {
      const [method, path] = r.split(' ');
      expect(page, r).toContain(`| ${method} | \`${path}\` |`);
    }
  });

  it('docs/configuration.md lists every schema key with its type and default', () => {
    const page = readFileSync('docs/configuration.md', 'utf8');
    const table = page.slice(page.indexOf(CONFIG_TABLE_START) + CONFIG_TABLE_START.length, page.indexOf(CONFIG_TABLE_END)).trim();
    expect(table).toBe(configKeyTable().trim());
    for (const key of ['listen.postgres', 'broker.shutdownGrace', 'targets.<name>.roles.read.user', 'access[].approvers']) {
      expect(table).toContain(`\`${key}\``);
    }
  });

  it('docs/README.md lists every page of docs/', () => {
    const index = readFileSync('docs/README.md', 'utf8');
    const pages = readdirSync('docs').filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pages.length).toBeGreaterThan(10);
    for (const p of pages) expect(index, p).toContain(`](${p})`);
  });

  it('no shipped file refers to ../shared or to SPEC sections users cannot see', () => {
    const files = execFileSync('git', ['ls-files', 'README.md', 'SECURITY.md', 'docs', 'rules', 'dbwarden.example.yaml', 'deploy', 'src', 'scripts'], { encoding: 'utf8' }).trim().split('\n');
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/\.\.\/shared|SPEC\.md|SPEC §|SPEC section|\(SPEC\)/);
  });
});
