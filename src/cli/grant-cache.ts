// Passwords of the caller's live grants kept in owner-only files, so `dbwarden connect` can reuse a grant.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CachedGrant {
  grantId: string;
  login: string;
  password: string;
  expiresAt: string;
  target: string;
  access: string;
  databases: string[];
  /** the admin API the grant came from: a cache shared by several brokers never mixes them up */
  apiUrl: string;
}

/** $DBWARDEN_CACHE_DIR, else $XDG_CACHE_HOME/dbwarden, else ~/.cache/dbwarden. */
export function cacheDir(env: Record<string, string | undefined>): string {
  return env.DBWARDEN_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'dbwarden');
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Defends against other local users reading a password: the folder is 0700 and each file 0600, written with
 * that mode from the start (never world-readable for a moment). Expired entries are deleted on every use.
 */
export class GrantCache {
  constructor(readonly dir: string) {}

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  save(g: CachedGrant): string | undefined {
    if (!SAFE_ID.test(g.grantId)) return undefined;
    this.ensureDir();
    const file = join(this.dir, `${g.grantId}.json`);
    writeFileSync(file, JSON.stringify(g), { mode: 0o600 });
    return file;
  }

  /** live entries (expired ones are removed) */
  list(now = Date.now()): CachedGrant[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: CachedGrant[] = [];
    for (const n of names) {
      const file = join(this.dir, n);
      try {
        const g = JSON.parse(readFileSync(file, 'utf8')) as CachedGrant;
        if (Date.parse(g.expiresAt) > now) out.push(g);
        else this.remove(n.slice(0, -'.json'.length));
      } catch {
        rmSync(file, { force: true });
      }
    }
    return out;
  }

  remove(grantId: string): void {
    if (!SAFE_ID.test(grantId)) return;
    for (const ext of ['json', 'pgpass', 'cnf']) rmSync(join(this.dir, `${grantId}.${ext}`), { force: true });
  }

  /** a 0600 file for a client that reads its password from a file (pgpass, my.cnf); removed with the grant */
  writeSecretFile(grantId: string, ext: 'pgpass' | 'cnf', text: string): string {
    this.ensureDir();
    const file = join(this.dir, `${grantId}.${ext}`);
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }
}
