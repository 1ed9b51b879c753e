// Generates the reference pages docs/cli.md (from the commands' own help) and docs/configuration.md's key table
// (from the zod schema); a unit test fails when the committed pages drift from these.
import { z } from 'zod';
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
