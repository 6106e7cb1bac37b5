import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { type Kysely, type Migration, sql } from 'kysely';
import { describeError } from './errors.js';
import { describePostgresUrl, openPostgresDb, redactPassword } from './postgres.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';
import { openSqliteDb } from './sqlite.js';
import { type Store, StoreUnavailableError } from './types.js';

export { QUERY_TIMEOUT_MS } from './postgres.js';
export { AmbiguousKeyError, SqlStore, type SqlStoreOptions } from './sql-store.js';
export * from './types.js';

export interface OpenStoreOptions {
  /** postgres:// or postgresql:// (DATABASE_URL): use PostgreSQL. Otherwise SQLite. */
  databaseUrl?: string;
  /** Directory of the SQLite file (DATA_DIR); default {@link defaultDataDir}. */
  dataDir?: string;
  /** An explicit SQLite file, or ':memory:'; wins over dataDir. */
  sqliteFile?: string;
  /** PostgreSQL pool size (DB_POOL_SIZE); default 10. */
  poolSize?: number;
  /** Apply pending migrations on open; default true. `airtable-mcp-kit migrate` opens with false. */
  migrate?: boolean;
  /**
   * PostgreSQL: longest wait in ms for one query's answer before it fails with
   * StoreUnavailableError (a database that stops answering without closing the
   * connection); default 5000 (QUERY_TIMEOUT_MS), 0 for no limit.
   * Migrations get at least 10 minutes per query.
   */
  queryTimeoutMs?: number;
  /** Modules' migrations for this dialect, named '<module>/NNN_name' (see app/modules.ts). */
  moduleMigrations?: (dialect: 'sqlite' | 'postgres') => Record<string, Migration>;
  /** PostgreSQL connection errors outside a query (the pool recovers by itself); for logging. */
  onError?: (error: Error) => void;
}

export const SQLITE_FILE_NAME = 'airtable-mcp-kit.sqlite';

/** `$XDG_DATA_HOME/airtable-mcp-kit`, else `~/.local/share/airtable-mcp-kit`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says to ignore relative values.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'airtable-mcp-kit');
}

/**
 * Opens the configured store and (unless told not to) brings its schema up to date.
 * Open one store per SQLite file per process: better-sqlite3 waits for locks
 * synchronously, so two stores on one file in one process can block each other.
 * Several processes (or PostgreSQL replicas) are fine.
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const store = options.databaseUrl
    ? await openPostgresStore(options.databaseUrl, options)
    : await openSqliteStore(options);
  if (options.migrate === false) return store;
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

async function openSqliteStore(options: OpenStoreOptions): Promise<SqlStore> {
  const file = options.sqliteFile ?? join(options.dataDir ?? defaultDataDir(), SQLITE_FILE_NAME);
  try {
    return new SqlStore(await openSqliteDb(file), 'sqlite', file, {
      moduleMigrations: options.moduleMigrations?.('sqlite'),
    });
  } catch (error) {
    throw new StoreUnavailableError(`Cannot open SQLite database ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

async function openPostgresStore(url: string, options: OpenStoreOptions): Promise<SqlStore> {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new Error('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const location = describePostgresUrl(url);
  const { db, withMigrationTimeout } = await openPostgresDb({
    url,
    poolSize: options.poolSize,
    queryTimeoutMs: options.queryTimeoutMs,
    onError: options.onError,
  });
  await checkConnection(db, url, location);
  return new SqlStore(db, 'postgres', location, {
    withMigrationTimeout,
    moduleMigrations: options.moduleMigrations?.('postgres'),
  });
}

/** One query up front, so an unreachable server is one clear error at startup, not a 503 per request. */
async function checkConnection(db: Kysely<Database>, url: string, location: string): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const reason = redactPassword(describeError(error), url);
    throw new StoreUnavailableError(`Cannot connect to PostgreSQL at ${location}: ${reason}`, {
      cause: error,
    });
  }
}
