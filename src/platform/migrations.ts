/**
 * The platform's tables. Plain text ids and ISO timestamps as in the core's
 * store, so SQLite and PostgreSQL behave alike. No foreign keys: erasure
 * deletes a user's rows explicitly, in an order that never leaves a
 * dangling credential, and SQLite would only enforce them with a pragma.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store/types.js';

export function platformMigrations(dialect: StoreDialect): Record<string, Migration> {
  return { '001_users': usersSchema(dialect) };
}

function withAutoId(db: Kysely<unknown>, table: string, dialect: StoreDialect) {
  const builder = db.schema.createTable(table);
  return dialect === 'postgres'
    ? builder.addColumn('id', 'bigserial', (col) => col.primaryKey())
    : builder.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
}

function usersSchema(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await createUsers(db);
      await createCredentials(db);
      await createCounters(db);
      await createGdpr(db, dialect);
      await createHousekeeping(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'platform_leases',
        'platform_settings',
        'platform_audit',
        'platform_gdpr_requests',
        'platform_consents',
        'platform_counters',
        'platform_personal_keys',
        'platform_refresh_tokens',
        'platform_users',
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

async function createUsers(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('platform_users')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .addColumn('password_hash', 'text', (col) => col.notNull())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('role', 'text', (col) => col.notNull())
    .addColumn('allowed_bases', 'text', (col) => col.notNull())
    .addColumn('disabled_at', 'text')
    .addColumn('token_version', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .addColumn('last_login_at', 'text')
    .execute();
}

async function createCredentials(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('platform_refresh_tokens')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('family_id', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('parent_id', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('family_expires_at', 'text', (col) => col.notNull())
    .addColumn('used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('platform_refresh_tokens_family_idx')
    .on('platform_refresh_tokens')
    .column('family_id')
    .execute();
  await db.schema
    .createIndex('platform_refresh_tokens_user_idx')
    .on('platform_refresh_tokens')
    .column('user_id')
    .execute();

  await db.schema
    .createTable('platform_personal_keys')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('prefix', 'text', (col) => col.notNull())
    // Unique: every request with a key looks it up by hash.
    .addColumn('hash', 'text', (col) => col.notNull().unique())
    .addColumn('scopes', 'text', (col) => col.notNull())
    .addColumn('bases', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('platform_personal_keys_user_idx')
    .on('platform_personal_keys')
    .column('user_id')
    .execute();
}

async function createCounters(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('platform_counters')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('count', 'integer', (col) => col.notNull())
    .addColumn('window_started_at', 'text', (col) => col.notNull())
    .addColumn('last_at', 'text', (col) => col.notNull())
    .execute();
}

async function createGdpr(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  await withAutoId(db, 'platform_consents', dialect)
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('purpose', 'text', (col) => col.notNull())
    .addColumn('granted', 'integer', (col) => col.notNull())
    .addColumn('policy_version', 'text', (col) => col.notNull())
    .addColumn('at', 'text', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('platform_consents_user_idx')
    .on('platform_consents')
    .columns(['user_id', 'purpose'])
    .execute();

  await db.schema
    .createTable('platform_gdpr_requests')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'text')
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema
    .createIndex('platform_gdpr_requests_subject_idx')
    .on('platform_gdpr_requests')
    .column('subject')
    .execute();

  await withAutoId(db, 'platform_audit', dialect)
    .addColumn('at', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('subject', 'text')
    .addColumn('actor', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema
    .createIndex('platform_audit_subject_idx')
    .on('platform_audit')
    .columns(['subject', 'at'])
    .execute();
}

async function createHousekeeping(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('platform_settings')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('value', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('platform_leases')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('holder', 'text', (col) => col.notNull())
    .addColumn('until', 'text', (col) => col.notNull())
    .execute();
}
