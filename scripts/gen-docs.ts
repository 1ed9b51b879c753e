// `npm run docs`: rewrites the generated reference pages (docs/cli.md, docs/metrics.md, the key table in docs/configuration.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, cliReference, configKeyTable, metricsReference } from '../src/cli/docs-gen.js';

writeFileSync('docs/cli.md', cliReference());
writeFileSync('docs/metrics.md', metricsReference());
const page = readFileSync('docs/configuration.md', 'utf8');
const a = page.indexOf(CONFIG_TABLE_START);
const b = page.indexOf(CONFIG_TABLE_END);
if (a < 0 || b < a) throw new Error('docs/configuration.md lacks the generated-keys markers');
writeFileSync('docs/configuration.md', page.slice(0, a + CONFIG_TABLE_START.length) + '\n\n' + configKeyTable() + '\n' + page.slice(b));
