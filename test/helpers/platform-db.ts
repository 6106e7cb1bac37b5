/**
 * Reading the platform's own database in tests that check the tables
 * themselves (GDPR erasure, replicas, retention), not only the API.
 */
import { type Kysely, sql } from 'kysely';
import type { SqlStore } from '../../src/store/index.js';
import type { Json, PlatformServer } from './platform-http.js';

/** Polls until `check` stops throwing (usage records and the like are written in the background). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The server's SQL database, loosely typed (tests read any table). */
export function dbOf(server: PlatformServer): Kysely<Json> {
  return (server.handle.store as SqlStore).db as unknown as Kysely<Json>;
}

/** The names of every table in the server's database (SQLite or the current PostgreSQL schema). */
export async function tableNames(server: PlatformServer): Promise<string[]> {
  const db = dbOf(server);
  const rows =
    server.handle.store.dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows
      : (
          await sql<{ name: string }>`select table_name as name from information_schema.tables
            where table_schema = current_schema()`.execute(db)
        ).rows;
  return rows.map((r) => r.name);
}

/** Every row of the given tables, by table (read-only). */
export async function dumpRows(server: PlatformServer, tables: string[]): Promise<Record<string, Json[]>> {
  const db = dbOf(server);
  const dump: Record<string, Json[]> = {};
  for (const table of tables) dump[table] = await db.selectFrom(table).selectAll().execute();
  return dump;
}

/** Table → rows whose any cell mentions one of the needles (case-insensitive). */
export function rowsMentioning(dump: Record<string, Json[]>, needles: string[]): Record<string, Json[]> {
  const found: Record<string, Json[]> = {};
  for (const [table, rows] of Object.entries(dump)) {
    const hits = rows.filter((row) => {
      const text = JSON.stringify(row).toLowerCase();
      return needles.some((needle) => text.includes(needle.toLowerCase()));
    });
    if (hits.length) found[table] = hits;
  }
  return found;
}
