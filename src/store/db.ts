/**
 * Durable state of one daemon: a SQLite database (better-sqlite3) under the data root.
 *
 * Layout: `state.db` holds JSON documents by collection (`docs`: networks, containers, endpoints, ...)
 * and IP address allocations (`allocations`, one row per address in use, UNIQUE per network so that two
 * owners can never hold one address). Callers group every change of one request in `transaction()`,
 * so an owner and its addresses are written together or not at all.
 *
 * Beware: better-sqlite3 is synchronous; keep transactions short (no awaits inside: the function passed
 * to `transaction` must be synchronous). WAL with synchronous=NORMAL survives a `kill -9` of the daemon
 * (the process), which is the failure we promise to survive; power loss may lose the last commit.
 * A full disk: every write outside a transaction, and every transaction, is tried once more after
 * SQLITE_FULL with the WAL rewound onto the room kept by room.ts, so removals still record.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { internal } from '../util/index.js';
import { isDiskFull, rewindWal, topUp } from './room.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS allocations (
  network_id TEXT NOT NULL,
  address TEXT NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (network_id, address)
);
CREATE INDEX IF NOT EXISTS allocations_owner ON allocations(owner);
CREATE INDEX IF NOT EXISTS docs_name ON docs(collection, json_extract(doc, '$.name'));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface Allocation {
  networkId: string;
  address: string;
  owner: string;
}

/**
 * A typed view of one collection of JSON documents.
 * Beware: a document given to `putOrKeep` whose write failed on a full disk is read from memory
 * (get, findBy, list) until `flushKept` or a later put or delete of it lands.
 */
export class Collection<T extends { id: string }> {
  /** id → JSON text of documents known in memory only (their write found the disk full). */
  private readonly kept = new Map<string, string>();
  private readonly getStmt: Database.Statement<[string, string], { doc: string }>;
  private readonly listStmt: Database.Statement<[string], { doc: string }>;
  private readonly putStmt: Database.Statement<[string, string, string]>;
  private readonly delStmt: Database.Statement<[string, string]>;
  /** By field: SQLite uses an expression index only when the query spells the same expression (a literal path, not a parameter). */
  private readonly findStmts = new Map<string, Database.Statement<[string, string], { doc: string }>>();

  constructor(
    private readonly db: Database.Database,
    readonly name: string,
    private readonly write: <R>(fn: () => R) => R = (fn) => fn(),
  ) {
    this.getStmt = db.prepare('SELECT doc FROM docs WHERE collection = ? AND id = ?');
    this.listStmt = db.prepare('SELECT doc FROM docs WHERE collection = ? ORDER BY rowid');
    this.putStmt = db.prepare('INSERT OR REPLACE INTO docs (collection, id, doc) VALUES (?, ?, ?)');
    this.delStmt = db.prepare('DELETE FROM docs WHERE collection = ? AND id = ?');
  }

  get(id: string): T | undefined {
    const text = this.kept.get(id) ?? this.getStmt.get(this.name, id)?.doc;
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /**
   * The first document (in insertion order) whose top-level string field `field` equals `value`.
   * `name` is indexed (docs_name): a container create looks its name up, and scanning meant SQLite
   * parsing every document's JSON, about 8 ms a lookup at 1000 containers (~2 KB each), so each
   * create cost more than the one before. Other fields are read in C from every document.
   */
  findBy(field: string, value: string): T | undefined {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw new Error(`store: bad field name ${JSON.stringify(field)}`);
    for (const text of this.kept.values()) {
      const doc = JSON.parse(text) as T;
      if ((doc as Record<string, unknown>)[field] === value) return doc;
    }
    let stmt = this.findStmts.get(field);
    if (!stmt) {
      // The field is checked above: the literal path is safe to spell into the statement.
      stmt = this.db.prepare(`SELECT doc FROM docs WHERE collection = ? AND json_extract(doc, '$.${field}') = ? ORDER BY rowid LIMIT 1`);
      this.findStmts.set(field, stmt);
    }
    const row = stmt.get(this.name, value);
    const doc = row ? (JSON.parse(row.doc) as T) : undefined;
    return doc && !this.kept.has(doc.id) ? doc : undefined; // a kept version that matched was returned above
  }

  /** How SQLite plans `findBy(field, ...)` (EXPLAIN QUERY PLAN details): tests check the name lookup uses its index. */
  findPlan(field: string): string[] {
    this.findBy(field, '');
    const sql = this.findStmts.get(field)?.source ?? '';
    return this.db.prepare<[string, string], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`).all(this.name, '').map((r) => r.detail);
  }

  list(): T[] {
    const rows = this.listStmt.all(this.name).map((r) => JSON.parse(r.doc) as T);
    if (this.kept.size === 0) return rows;
    const ids = new Set(rows.map((d) => d.id));
    const extra = [...this.kept.keys()].filter((id) => !ids.has(id)).map((id) => JSON.parse(this.kept.get(id) as string) as T);
    return [...rows.map((d) => (this.kept.has(d.id) ? (JSON.parse(this.kept.get(d.id) as string) as T) : d)), ...extra];
  }

  put(doc: T): void {
    const text = JSON.stringify(doc);
    this.write(() => this.putStmt.run(this.name, doc.id, text));
    this.kept.delete(doc.id);
  }

  /**
   * `put`, or, when the disk is full even for the room SQLite keeps, the document is known in
   * memory only and false is returned: call `flushKept` later (a container's exit must be seen at
   * once, whether or not the disk can take it).
   */
  putOrKeep(doc: T): boolean {
    try {
      this.put(doc);
      return true;
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      this.kept.set(doc.id, JSON.stringify(doc));
      return false;
    }
  }

  /** Writes the documents known in memory only; throws (keeping them) while the disk is full. */
  flushKept(): void {
    for (const [id, text] of [...this.kept]) {
      this.write(() => this.putStmt.run(this.name, id, text));
      this.kept.delete(id);
    }
  }

  delete(id: string): void {
    this.write(() => this.delStmt.run(this.name, id));
    this.kept.delete(id);
  }
}

export class Store {
  private readonly db: Database.Database;
  private readonly collections = new Map<string, Collection<{ id: string }>>();
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  private readonly releaseListeners: Array<(networkId: string, address: string | undefined) => void> = [];
  private writes = 0;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating if needed) the database file; ':memory:' for tests. */
  static open(path: string): Store {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    topUp(db);
    return new Store(db);
  }

  /**
   * Runs a write; outside a transaction, SQLITE_FULL rewinds the WAL onto its kept room and the
   * write is tried once more (it was rolled back whole, so running it again is safe). Every 64th
   * write checks that the room is still there.
   */
  private write<R>(fn: () => R): R {
    if (this.db.inTransaction) return fn();
    let out: R;
    try {
      out = fn();
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      rewindWal(this.db);
      try {
        out = fn();
      } catch (again) {
        // Docker's words for a full disk, and a 500 with the store's own text after them.
        if (isDiskFull(again)) throw internal('system.no_space', `no space left on device: recording the change: ${(again as Error).message}`, again);
        throw again;
      }
    }
    if (++this.writes % 64 === 0) topUp(this.db);
    return out;
  }

  collection<T extends { id: string }>(name: string): Collection<T> {
    let c = this.collections.get(name);
    if (!c) {
      c = new Collection<{ id: string }>(this.db, name, (fn) => this.write(fn));
      this.collections.set(name, c);
    }
    return c as unknown as Collection<T>;
  }

  /** Runs `fn` in one SQLite transaction: all of its writes land, or none. `fn` must not await. */
  transaction<R>(fn: () => R): R {
    return this.write(() => this.db.transaction(fn)());
  }

  /**
   * The statement for `sql`, prepared once: preparing parses and plans the SQL each time (tens of
   * microseconds), and an attach allocates, a stop releases, on every container start and stop.
   */
  private stmt<P extends unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s as unknown as Database.Statement<P, R>;
  }

  allocations(networkId: string): Allocation[] {
    return this.stmt<[string], { address: string; owner: string }>('SELECT address, owner FROM allocations WHERE network_id = ? ORDER BY rowid')
      .all(networkId)
      .map((r) => ({ networkId, address: r.address, owner: r.owner }));
  }

  /** Every allocation of every network (the consistency checker's view of IPAM). */
  allAllocations(): Allocation[] {
    return this.stmt<[], { network_id: string; address: string; owner: string }>('SELECT network_id, address, owner FROM allocations ORDER BY rowid')
      .all()
      .map((r) => ({ networkId: r.network_id, address: r.address, owner: r.owner }));
  }

  /** Whether an address of the network is taken (one index lookup: an attach checks a few, not all). */
  isAllocated(networkId: string, address: string): boolean {
    return this.stmt<[string, string], { one: number }>('SELECT 1 AS one FROM allocations WHERE network_id = ? AND address = ?').get(networkId, address) !== undefined;
  }

  /**
   * Calls `listener` after every release that took effect outside a transaction or within one (a
   * rolled-back release was announced too: a listener treats it as "may be free", never "is taken").
   * `address` undefined: every address of the network went.
   */
  onRelease(listener: (networkId: string, address: string | undefined) => void): void {
    this.releaseListeners.push(listener);
  }

  /** Records an address as taken; throws if another owner already holds it (UNIQUE constraint). */
  allocate(a: Allocation): void {
    const st = this.stmt<[string, string, string]>('INSERT INTO allocations (network_id, address, owner) VALUES (?, ?, ?)');
    this.write(() => st.run(a.networkId, a.address, a.owner));
  }

  releaseOwner(owner: string): void {
    const st = this.stmt<[string], { network_id: string; address: string }>('DELETE FROM allocations WHERE owner = ? RETURNING network_id, address');
    const gone = this.write(() => st.all(owner));
    for (const r of gone) for (const l of this.releaseListeners) l(r.network_id, r.address);
  }

  releaseNetwork(networkId: string): void {
    const st = this.stmt<[string]>('DELETE FROM allocations WHERE network_id = ?');
    this.write(() => st.run(networkId));
    for (const l of this.releaseListeners) l(networkId, undefined);
  }

  getMeta(key: string): string | undefined {
    return this.stmt<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    const st = this.stmt<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.write(() => st.run(key, value));
  }

  close(): void {
    this.db.close();
  }
}
