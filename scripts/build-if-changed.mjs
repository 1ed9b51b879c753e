// `npm start` runs this first: compiles TypeScript only when a source file (src/, tsconfig*, package.json) is newer
// than the last build, so a second start takes no compile time.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const sources = Math.max(newest('src'), ...['tsconfig.json', 'tsconfig.build.json', 'tsconfig.ui.json', 'package.json', 'scripts'].filter(existsSync).map(newest));
const built = existsSync(STAMP) && existsSync('dist/bin.js') ? statSync(STAMP).mtimeMs : 0;
if (sources > built) {
  process.stderr.write('building (sources changed since the last build)…\n');
  // the full build (server, web console, assets); it writes the stamp last
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}
