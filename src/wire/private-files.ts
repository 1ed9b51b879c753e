// Owner-only modes for the broker's state folder: 0700 for folders, 0600 for every file in them.
// Defends against local users reading the grant store (password verifiers: a mysql_native_password stage-2 hash
// plus one sniffed handshake is enough to log in), keys, certificates and the audit trail.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ModeFix {
  path: string;
  /** the mode found (octal string) */
  was: string;
}

/**
 * Creates `dir` (0700) if missing and tightens it and everything under it: folders to 0700, files to 0600.
 * Symbolic links are left alone (their targets are not ours to change). Returns what was changed, so the caller
 * can warn: looser modes mean someone may already have read the files.
 */
export function securePrivateDir(dir: string): ModeFix[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fixed: ModeFix[] = [];
  const visit = (path: string, isDir: boolean) => {
    const st = lstatSync(path);
    const want = isDir ? 0o700 : 0o600;
    if ((st.mode & 0o777 & ~want) !== 0) {
      chmodSync(path, want);
      fixed.push({ path, was: (st.mode & 0o777).toString(8) });
    }
    if (!isDir) return;
    for (const e of readdirSync(path, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(path, e.name), true);
      else if (e.isFile()) visit(join(path, e.name), false);
    }
  };
  visit(dir, true);
  return fixed;
}
