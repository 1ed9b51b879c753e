// The files of a rotated audit trail: audit.jsonl.N (oldest) … audit.jsonl.1, then audit.jsonl (newest), one chain across them.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Numbers N of the existing `<path>.N` files, highest (oldest) first. Gaps are allowed: a crash mid-rotation leaves one. */
export function rotatedIndexes(path: string): number[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^[1-9]\d{0,8}$/.test(rest)) out.push(Number(rest));
  }
  return out.sort((a, b) => b - a);
}

export function rotatedPath(path: string, index: number): string {
  return join(dirname(path), `${basename(path)}.${index}`);
}

/** Every file of the trail in chain order (oldest first); the current file last when it exists. */
export function trailFiles(path: string): string[] {
  const files = rotatedIndexes(path).map((n) => rotatedPath(path, n));
  if (existsSync(path)) files.push(path);
  return files;
}
