// Generates the reference pages docs/cli.md (from the commands' own help), docs/configuration.md's key table
// (from the zod schema) and docs/metrics.md (from the prom-client registry); a unit test fails when the committed
// pages drift from these.
import { z } from 'zod';
import { createMetrics } from '../metrics/metrics.js';
import { ConfigSchema } from '../config/schema.js';
import { COMMAND_HELP, commandHelp, HELP } from './help.js';

export function cliReference(): string {
  const parts = [
    '# CLI reference',
    '',
    '<!-- generated from src/cli/help.ts by `npm run docs`; edit the help there, not here -->',
    '',
    '```text',
    HELP.trimEnd(),
    '```',
    '',
  ];
  for (const c of COMMAND_HELP) {
    parts.push(`## dbwarden ${c.name}`, '', '```text', commandHelp(c.name)!.trimEnd(), '```', '');
  }
  return parts.join('\n');
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  required?: string[];
  pattern?: string;
}

function typeText(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeText).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeText(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function walk(s: JsonSchema, path: string, rows: string[][]): void {
  const obj = s.anyOf?.find((a) => a.properties) ?? s;
  if (obj.properties) {
    for (const [k, v] of Object.entries(obj.properties)) {
      const p = path ? `${path}.${k}` : k;
      rows.push([`\`${p}\``, typeText(v), v.default === undefined ? '' : `\`${JSON.stringify(v.default)}\``]);
      walk(v, p, rows);
    }
  } else if (obj.additionalProperties && typeof obj.additionalProperties === 'object') {
    walk(obj.additionalProperties, `${path}.<name>`, rows);
  } else if (obj.type === 'array' && obj.items) {
    walk(obj.items, `${path}[]`, rows);
  }
}

/** Every configuration key with its type and default, in schema order. */
export function configKeyTable(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: string[][] = [];
  walk(schema, '', rows);
  return ['| key | type | default |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}

export const CONFIG_TABLE_START = '<!-- keys: generated from src/config/schema.ts by `npm run docs` -->';
export const CONFIG_TABLE_END = '<!-- end of generated keys -->';

/** Every dbwarden_* metric of the registry: name, type, labels, help (process/nodejs defaults are listed by prefix only). */
export function metricsReference(): string {
  const { registry } = createMetrics();
  const rows: string[] = [];
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; help: string; labelNames?: string[]; constructor: { name: string } }[]) {
    if (!m.name.startsWith('dbwarden_')) continue;
    const labels = (m.labelNames ?? []).map((l) => `\`${l}\``).join(', ');
    rows.push(`| \`${m.name}\` | ${m.constructor.name.toLowerCase()} | ${labels || '–'} | ${m.help.replace(/\|/g, '\\|')} |`);
  }
  return [
    '# Metrics',
    '',
    '<!-- generated from src/metrics/metrics.ts by `npm run docs`; edit the metrics there, not here -->',
    '',
    'The admin listener serves these at `GET /metrics` in the Prometheus text format (no token needed). Label values',
    'are bounded: never SQL text or logins. Series with a fixed set of label values',
    '(`dbwarden_session_terminations_total{reason}`, `dbwarden_parse_failures_total{dialect}`) exist from start-up at 0,',
    'so `increase()` sees their first event. Histograms also expose `_bucket`, `_sum` and `_count` series.',
    '',
    '| name | type | labels | help |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'Besides these, the standard prom-client process and Node.js metrics (`process_*`, `nodejs_*`) are exported;',
    'which of them exist depends on the platform. `nodejs_active_handles_total`, `nodejs_active_requests_total` and',
    '`nodejs_active_resources_total` are removed (gauges must not end in `_total`); the per-type series',
    '`nodejs_active_handles{type}` etc. carry the same numbers.',
    '',
    'Alert rules built on these are in `deploy/alerts.yml`, a scrape config in `deploy/prometheus.yml` and a Grafana dashboard in `deploy/grafana/`.',
    '',
  ].join('\n');
}
