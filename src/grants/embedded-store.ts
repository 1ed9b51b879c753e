// GrantStore on a local SQLite file (<state.dir>/dbwarden.db): single broker node, durable across restarts.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BrokerError, ErrorCode } from '../errors.js';
import type { AccessRequest, Grant, GrantStatus, GrantStore, RequestStatus, ReviewRecord } from './model.js';

export const EMBEDDED_DB_FILE = 'dbwarden.db';
const SCHEMA_VERSION = 1;

// Each table keeps the whole document as JSON (the model evolves without migrations) plus the columns
// that lookups filter on. rowid keeps insertion order for listings.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  requester TEXT NOT NULL,
  created_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_status ON requests(status);
CREATE INDEX IF NOT EXISTS requests_requester ON requests(requester);
CREATE TABLE IF NOT EXISTS grants (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  login TEXT NOT NULL UNIQUE,
  requester TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_status ON grants(status);
CREATE INDEX IF NOT EXISTS grants_requester ON grants(requester);
CREATE TABLE IF NOT EXISTS reviews (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  created_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_status ON reviews(status);
CREATE INDEX IF NOT EXISTS reviews_grant ON reviews(grant_id);
`;

type Db = Database.Database;
type Row = { doc: string };

function prepareStatements(db: Db) {
  const q = <P extends object | unknown[]>(sql: string) => db.prepare<P extends unknown[] ? P : [P], Row>(sql);
  return {
    putRequest: db.prepare(
      `INSERT INTO requests (id, status, requester, created_at, doc) VALUES (@id, @status, @requester, @createdAt, @doc)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, requester = excluded.requester, doc = excluded.doc`,
    ),
    getRequest: q<[string]>('SELECT doc FROM requests WHERE id = ?'),
    listRequests: q<{ status: string | null; requester: string | null }>(
      'SELECT doc FROM requests WHERE (@status IS NULL OR status = @status) AND (@requester IS NULL OR requester = @requester) ORDER BY created_at, rowid',
    ),
    putGrant: db.prepare(
      `INSERT INTO grants (id, status, login, requester, expires_at, doc) VALUES (@id, @status, @login, @requester, @expiresAt, @doc)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, login = excluded.login, requester = excluded.requester,
         expires_at = excluded.expires_at, doc = excluded.doc`,
    ),
    getGrant: q<[string]>('SELECT doc FROM grants WHERE id = ?'),
    getGrantByLogin: q<[string]>('SELECT doc FROM grants WHERE login = ?'),
    listGrants: q<{ status: string | null }>('SELECT doc FROM grants WHERE (@status IS NULL OR status = @status) ORDER BY rowid'),
    putReview: db.prepare(
      `INSERT INTO reviews (id, status, grant_id, requester, created_at, doc) VALUES (@id, @status, @grantId, @requester, @createdAt, @doc)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, doc = excluded.doc`,
    ),
    getReview: q<[string]>('SELECT doc FROM reviews WHERE id = ?'),
    listReviews: q<{ status: string | null }>('SELECT doc FROM reviews WHERE (@status IS NULL OR status = @status) ORDER BY created_at, rowid'),
  };
}

export class EmbeddedStore implements GrantStore {
  readonly kind = 'embedded' as const;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  private constructor(private readonly db: Db) {
    this.stmt = prepareStatements(db);
  }

  /** Opens (creating when needed) `<dir>/dbwarden.db`. */
  static open(dir: string): EmbeddedStore {
    let db: Db;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // owner-only before SQLite opens it: the -wal and -shm files SQLite creates take the database file's mode,
      // and the store holds every grant's password verifiers
      const file = join(dir, EMBEDDED_DB_FILE);
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
      for (const side of ['-wal', '-shm']) if (existsSync(file + side)) chmodSync(file + side, 0o600);
      db = new Database(file);
    } catch (e) {
      throw new BrokerError(ErrorCode.STORE_UNAVAILABLE, `cannot open the embedded store in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    // WAL: readers (login lookups) never wait for the writer. synchronous=FULL: an approved grant or a
    // revoke that was answered must survive a power loss, and grant writes are rare enough to afford it.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new BrokerError(ErrorCode.STORE_UNAVAILABLE, `${join(dir, EMBEDDED_DB_FILE)} was written by a newer dbwarden (schema ${version})`);
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return new EmbeddedStore(db);
  }

  async putRequest(r: AccessRequest): Promise<void> {
    this.stmt.putRequest.run({ id: r.id, status: r.status, requester: r.requester, createdAt: r.createdAt, doc: JSON.stringify(r) });
  }

  async getRequest(id: string): Promise<AccessRequest | undefined> {
    return decode(this.stmt.getRequest.get(id));
  }

  async listRequests(filter: { status?: RequestStatus; requester?: string } = {}): Promise<AccessRequest[]> {
    return this.stmt.listRequests.all({ status: filter.status ?? null, requester: filter.requester ?? null }).map((row) => JSON.parse(row.doc));
  }

  async putGrant(g: Grant): Promise<void> {
    this.stmt.putGrant.run({ id: g.id, status: g.status, login: g.login, requester: g.identity, expiresAt: g.expiresAt, doc: JSON.stringify(g) });
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    return decode(this.stmt.getGrant.get(id));
  }

  async getGrantByLogin(login: string): Promise<Grant | undefined> {
    return decode(this.stmt.getGrantByLogin.get(login));
  }

  async listGrants(filter: { status?: GrantStatus } = {}): Promise<Grant[]> {
    return this.stmt.listGrants.all({ status: filter.status ?? null }).map((row) => JSON.parse(row.doc));
  }

  async putReview(r: ReviewRecord): Promise<void> {
    this.stmt.putReview.run({ id: r.id, status: r.status, grantId: r.grantId, requester: r.identity, createdAt: r.createdAt, doc: JSON.stringify(r) });
  }

  async getReview(id: string): Promise<ReviewRecord | undefined> {
    return decode(this.stmt.getReview.get(id));
  }

  async listReviews(filter: { status?: ReviewRecord['status'] } = {}): Promise<ReviewRecord[]> {
    return this.stmt.listReviews.all({ status: filter.status ?? null }).map((row) => JSON.parse(row.doc));
  }

  ready(): boolean {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function decode<T>(row: Row | undefined): T | undefined {
  return row === undefined ? undefined : (JSON.parse(row.doc) as T);
}
