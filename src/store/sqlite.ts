import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import type { Database } from './schema.js';

/**
 * Kysely's SQLite adapter says SQLite has no transactional DDL, so its Migrator
 * would apply migrations statement by statement. SQLite does roll back DDL: run
 * each migration batch in a transaction, so a failed migration leaves nothing behind.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * `begin immediate` instead of `begin`: every transaction here writes, and a
 * deferred one that reads first cannot upgrade to a write while another process
 * (a server and `airtable-mcp-kit migrate`, say) holds the lock: it fails with
 * SQLITE_BUSY at once. Taking the write lock up front lets busy_timeout wait
 * for it instead, and serialises concurrent migration runs.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class StoreSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }

  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** Opens (creating when needed) a SQLite database; `:memory:` for a private throwaway one. */
export async function openSqliteDb(file: string): Promise<Kysely<Database>> {
  // Loaded on demand: stdio users never need the native module.
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const database = new BetterSqlite3(file);
  try {
    // WAL: readers do not block the writer. busy_timeout: wait for another process's write lock
    // instead of failing at once. foreign_keys: SQLite leaves them off unless asked.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw error;
  }
  return new Kysely<Database>({ dialect: new StoreSqliteDialect({ database }) });
}
