import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../types.js';

/** API keys, MCP sessions and usage records. */
export function initialSchema(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await createApiKeys(db);
      await createSessions(db);
      await createUsage(db, dialect);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('usage_records').execute();
      await db.schema.dropTable('mcp_sessions').execute();
      await db.schema.dropTable('api_keys').execute();
    },
  };
}

async function createApiKeys(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('prefix', 'text', (col) => col.notNull())
    // Unique: verification looks keys up by hash on every request.
    .addColumn('hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('api_keys_prefix_idx').on('api_keys').column('prefix').execute();
}

async function createSessions(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mcp_sessions')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('key_id', 'text')
    .addColumn('transport', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('last_seen_at', 'text', (col) => col.notNull())
    .addColumn('closed_at', 'text')
    .execute();
}

async function createUsage(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const table = db.schema.createTable('usage_records');
  // The one dialect difference: how an auto-incrementing key is spelled.
  const withId =
    dialect === 'postgres'
      ? table.addColumn('id', 'bigserial', (col) => col.primaryKey())
      : table.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
  await withId
    .addColumn('at', 'text', (col) => col.notNull())
    .addColumn('tool', 'text', (col) => col.notNull())
    .addColumn('outcome', 'text', (col) => col.notNull())
    .addColumn('duration_ms', 'integer', (col) => col.notNull())
    .addColumn('key_id', 'text')
    .addColumn('session_id', 'text')
    .execute();
  await db.schema.createIndex('usage_records_at_idx').on('usage_records').column('at').execute();
  await db.schema
    .createIndex('usage_records_key_at_idx')
    .on('usage_records')
    .columns(['key_id', 'at'])
    .execute();
}
