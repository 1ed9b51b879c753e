// Copies the console's static files (HTML, CSS, icon) next to the compiled modules in dist/ui; tsc builds the .js.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../src/ui/', import.meta.url);
const to = new URL('../dist/ui/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) {
  if (/\.(html|css|svg)$/.test(name)) copyFileSync(new URL(name, from), new URL(name, to));
}
