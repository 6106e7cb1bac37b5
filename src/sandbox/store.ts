/**
 * Persistence: SQLite (better-sqlite3) is the source of truth, in memory by default or a file with
 * `dataFile`. Everything is also mirrored in plain maps so reads (filtering, sorting, formulas over
 * linked records) never touch SQL; every write goes through one SQLite transaction first, then the
 * mirror, so a failing batch writes nothing.
 */
import Database from 'better-sqlite3';
import { newId } from './ids.js';
import type { BaseDef, CommentRow, SeedBase } from './model.js';
import { prepareSeed } from './seed.js';

export interface StoredRecord {
  id: string;
  /** Global creation order; lists without sort or view use it. */
  seq: number;
  autoNumber: number;
  createdTime: string;
  modifiedTime: string;
  /** Stored (non-computed) cells keyed by field id; empty cells are absent. */
  fields: Record<string, unknown>;
}

export interface StoredComment extends CommentRow {
  seq: number;
}

export interface RecordPut {
  tableId: string;
  record: StoredRecord;
}

export interface StoredAttachment {
  contentType: string;
  filename: string;
  data: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bases (id TEXT PRIMARY KEY, ord INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, base_id TEXT NOT NULL, table_id TEXT NOT NULL,
  seq INTEGER NOT NULL, auto_number INTEGER NOT NULL, created_time TEXT NOT NULL, modified_time TEXT NOT NULL,
  fields_json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_table ON records (table_id, seq);
CREATE TABLE IF NOT EXISTS comments (id TEXT PRIMARY KEY, base_id TEXT NOT NULL, record_id TEXT NOT NULL,
  seq INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (id TEXT PRIMARY KEY, content_type TEXT NOT NULL, filename TEXT NOT NULL,
  data BLOB NOT NULL);
`;

/** Process-wide, so two sandboxes with the same (seeded) table ids never share a formula-cache entry. */
let schemaVersions = 0;
const nextSchemaVersion = (): number => ++schemaVersions;

interface RecordSqlRow {
  id: string;
  base_id: string;
  table_id: string;
  seq: number;
  auto_number: number;
  created_time: string;
  modified_time: string;
  fields_json: string;
}

export class Store {
  private readonly db: Database.Database;
  private bases = new Map<string, BaseDef>();
  private tables = new Map<string, Map<string, StoredRecord>>();
  private tableArrays = new Map<string, StoredRecord[]>();
  private recordTable = new Map<string, string>();
  private comments = new Map<string, StoredComment[]>();
  private tombstones = new Set<string>();
  private counters = new Map<string, number>();
  private dirtyCounters = new Set<string>();
  /** Changes on every schema change; caches of compiled formulas key on it. */
  schemaVersion = nextSchemaVersion();

  constructor(dataFile: string | undefined, seed: () => SeedBase[]) {
    this.db = new Database(dataFile ?? ':memory:');
    if (dataFile) this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    const count = this.db.prepare('SELECT COUNT(*) AS n FROM bases').get() as { n: number };
    if (count.n === 0) this.writeSeed(seed());
    this.load();
  }

  close(): void {
    this.db.close();
  }

  /** Wipes everything and starts again from `seed`. */
  reset(seed: SeedBase[]): void {
    this.db.transaction(() => {
      for (const t of ['bases', 'records', 'comments', 'tombstones', 'counters', 'attachments']) {
        this.db.exec(`DELETE FROM ${t}`);
      }
      this.writeSeed(seed);
    })();
    this.load();
  }

  // ---- schema ----

  listBases(): BaseDef[] {
    return [...this.bases.values()];
  }

  getBase(id: string): BaseDef | undefined {
    return this.bases.get(id);
  }

  /** Persists a base's schema (after a metadata write or a typecast that added select choices). */
  saveBase(base: BaseDef): void {
    const ord = this.bases.has(base.id) ? [...this.bases.keys()].indexOf(base.id) : this.bases.size;
    this.db
      .prepare(
        'INSERT INTO bases (id, ord, json) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json',
      )
      .run(base.id, ord, JSON.stringify(base));
    this.bases.set(base.id, base);
    for (const table of base.tables) if (!this.tables.has(table.id)) this.tables.set(table.id, new Map());
    this.schemaVersion = nextSchemaVersion();
  }

  // ---- records ----

  /** The table's records in creation order (shared array: do not mutate). */
  records(tableId: string): StoredRecord[] {
    let arr = this.tableArrays.get(tableId);
    if (!arr) {
      arr = [...(this.tables.get(tableId)?.values() ?? [])];
      this.tableArrays.set(tableId, arr);
    }
    return arr;
  }

  getRecord(tableId: string, id: string): StoredRecord | undefined {
    return this.tables.get(tableId)?.get(id);
  }

  /** The table a record id lives in, if it exists anywhere. */
  tableOfRecord(id: string): string | undefined {
    return this.recordTable.get(id);
  }

  /** A fresh record identity; ids are never reused, even after deletion. */
  allocateRecord(tableId: string): { id: string; seq: number; autoNumber: number } {
    let id = newId('rec');
    while (this.recordTable.has(id) || this.tombstones.has(id)) id = newId('rec');
    return { id, seq: this.bump('seq'), autoNumber: this.bump(`auto:${tableId}`) };
  }

  /** Writes records and deletions of one base atomically. */
  commit(baseId: string, puts: RecordPut[], deletes: Array<{ tableId: string; id: string }>): void {
    const upsert = this.db.prepare(
      `INSERT INTO records (id, base_id, table_id, seq, auto_number, created_time, modified_time, fields_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET
       modified_time = excluded.modified_time, fields_json = excluded.fields_json`,
    );
    const del = this.db.prepare('DELETE FROM records WHERE id = ?');
    const delComments = this.db.prepare('DELETE FROM comments WHERE record_id = ?');
    const tomb = this.db.prepare('INSERT OR IGNORE INTO tombstones (id) VALUES (?)');
    this.db.transaction(() => {
      for (const { tableId, record: r } of puts) {
        upsert.run(
          r.id,
          baseId,
          tableId,
          r.seq,
          r.autoNumber,
          r.createdTime,
          r.modifiedTime,
          JSON.stringify(r.fields),
        );
      }
      for (const { id } of deletes) {
        del.run(id);
        delComments.run(id);
        tomb.run(id);
      }
      this.flushCounters();
    })();
    for (const { tableId, record } of puts) this.mirrorPut(tableId, record);
    for (const { tableId, id } of deletes) this.mirrorDelete(tableId, id);
  }

  // ---- comments ----

  commentsOf(recordId: string): StoredComment[] {
    return this.comments.get(recordId) ?? [];
  }

  commentCount(recordId: string): number {
    return this.comments.get(recordId)?.length ?? 0;
  }

  newCommentSeq(): number {
    return this.bump('seq');
  }

  putComment(baseId: string, comment: StoredComment): void {
    const { seq, ...row } = comment;
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO comments (id, base_id, record_id, seq, json) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET json = excluded.json`,
        )
        .run(comment.id, baseId, comment.recordId, seq, JSON.stringify(row));
      this.flushCounters();
    })();
    const list = this.comments.get(comment.recordId) ?? [];
    const at = list.findIndex((c) => c.id === comment.id);
    if (at >= 0) list[at] = comment;
    else list.push(comment);
    this.comments.set(comment.recordId, list);
  }

  deleteComment(recordId: string, commentId: string): void {
    this.db.prepare('DELETE FROM comments WHERE id = ?').run(commentId);
    const list = this.comments.get(recordId) ?? [];
    this.comments.set(
      recordId,
      list.filter((c) => c.id !== commentId),
    );
  }

  // ---- attachments uploaded through uploadAttachment ----

  putAttachment(id: string, file: StoredAttachment): void {
    this.db
      .prepare('INSERT INTO attachments (id, content_type, filename, data) VALUES (?, ?, ?, ?)')
      .run(id, file.contentType, file.filename, file.data);
  }

  getAttachment(id: string): StoredAttachment | undefined {
    const row = this.db
      .prepare('SELECT content_type, filename, data FROM attachments WHERE id = ?')
      .get(id) as { content_type: string; filename: string; data: Buffer } | undefined;
    return row && { contentType: row.content_type, filename: row.filename, data: row.data };
  }

  // ---- internals ----

  private bump(key: string): number {
    const next = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, next);
    this.dirtyCounters.add(key);
    return next;
  }

  private flushCounters(): void {
    const stmt = this.db.prepare(
      'INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    for (const key of this.dirtyCounters) stmt.run(key, this.counters.get(key)!);
    this.dirtyCounters.clear();
  }

  private mirrorPut(tableId: string, record: StoredRecord): void {
    let map = this.tables.get(tableId);
    if (!map) {
      map = new Map();
      this.tables.set(tableId, map);
    }
    map.set(record.id, record);
    this.recordTable.set(record.id, tableId);
    this.tableArrays.delete(tableId);
  }

  private mirrorDelete(tableId: string, id: string): void {
    this.tables.get(tableId)?.delete(id);
    this.recordTable.delete(id);
    this.comments.delete(id);
    this.tombstones.add(id);
    this.tableArrays.delete(tableId);
  }

  private writeSeed(seed: SeedBase[]): void {
    const prepared = prepareSeed(seed);
    const insBase = this.db.prepare('INSERT INTO bases (id, ord, json) VALUES (?, ?, ?)');
    const insRec = this.db.prepare(
      `INSERT INTO records (id, base_id, table_id, seq, auto_number, created_time, modified_time, fields_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insCom = this.db.prepare(
      'INSERT INTO comments (id, base_id, record_id, seq, json) VALUES (?, ?, ?, ?, ?)',
    );
    const setCounter = this.db.prepare('INSERT OR REPLACE INTO counters (key, value) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const [i, b] of prepared.bases.entries()) insBase.run(b.id, i, JSON.stringify(b));
      for (const r of prepared.records) {
        insRec.run(
          r.id,
          r.baseId,
          r.tableId,
          r.seq,
          r.autoNumber,
          r.createdTime,
          r.createdTime,
          JSON.stringify(r.fields),
        );
      }
      for (const c of prepared.comments) {
        const { seq, baseId, ...row } = c;
        insCom.run(c.id, baseId, c.recordId, seq, JSON.stringify(row));
      }
      for (const [key, value] of prepared.counters) setCounter.run(key, value);
    })();
  }

  private load(): void {
    this.bases.clear();
    this.tables.clear();
    this.tableArrays.clear();
    this.recordTable.clear();
    this.comments.clear();
    this.schemaVersion = nextSchemaVersion();
    const bases = this.db.prepare('SELECT json FROM bases ORDER BY ord').all() as Array<{ json: string }>;
    for (const { json } of bases) {
      const base = JSON.parse(json) as BaseDef;
      this.bases.set(base.id, base);
      for (const t of base.tables) this.tables.set(t.id, new Map());
    }
    const rows = this.db.prepare('SELECT * FROM records ORDER BY seq').all() as RecordSqlRow[];
    for (const row of rows) this.mirrorPut(row.table_id, rowToRecord(row));
    this.loadComments();
    const tombs = this.db.prepare('SELECT id FROM tombstones').all() as Array<{ id: string }>;
    this.tombstones = new Set(tombs.map((t) => t.id));
    const counters = this.db.prepare('SELECT key, value FROM counters').all() as Array<{
      key: string;
      value: number;
    }>;
    this.counters = new Map(counters.map((c) => [c.key, c.value]));
    this.dirtyCounters.clear();
  }

  private loadComments(): void {
    const rows = this.db.prepare('SELECT seq, json FROM comments ORDER BY seq').all() as Array<{
      seq: number;
      json: string;
    }>;
    for (const row of rows) {
      const comment = { ...(JSON.parse(row.json) as CommentRow), seq: row.seq };
      const list = this.comments.get(comment.recordId) ?? [];
      list.push(comment);
      this.comments.set(comment.recordId, list);
    }
  }
}

function rowToRecord(row: RecordSqlRow): StoredRecord {
  return {
    id: row.id,
    seq: row.seq,
    autoNumber: row.auto_number,
    createdTime: row.created_time,
    modifiedTime: row.modified_time,
    fields: JSON.parse(row.fields_json) as Record<string, unknown>,
  };
}
