/**
 * Shared by the saga tests: SQLite and PostgreSQL backends (a database of
 * their own per file), an engine wired on the real tools and a sandbox over
 * real HTTP, and record snapshots to compare a base before and after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, Migrator } from 'kysely';
import pg from 'pg';
import { AirtableClient, createMemoryLimiter } from '../src/airtable/index.js';
import type { Principal } from '../src/app/principal.js';
import { type Logger, silentLogger } from '../src/logger.js';
import { SagaEngine } from '../src/saga/engine.js';
import { sagaMigrations } from '../src/saga/migrations.js';
import { defaultSagaOptions, type SagaOptions } from '../src/saga/options.js';
import { SagaRepository } from '../src/saga/repository.js';
import type { SagaTables } from '../src/saga/types.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import { openPostgresDb } from '../src/store/postgres.js';
import { openSqliteDb } from '../src/store/sqlite.js';
import { SchemaCache } from '../src/tools/context.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import { createToolRuntime } from '../src/tools/runtime.js';
import { requireService } from './helpers/services.js';

export const BASE = 'appSandboxDemo001';
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const USER: Principal = {
  kind: 'user',
  id: 'usr_alice',
  userId: 'usr_alice',
  scopes: ['tools:read', 'tools:write', 'workflows'],
  bases: [BASE],
};

export async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export const pgUp = await requireService('PostgreSQL', () => adminQuery('select 1'), '127.0.0.1:5432/test');

export async function migrateSaga(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const migrations = sagaMigrations(dialect);
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'test_saga_migration',
    migrationLockTableName: 'test_saga_migration_lock',
  }).migrateToLatest();
  if (error) throw error;
}

export interface Backend {
  label: string;
  dialect: 'sqlite' | 'postgres';
  skip: boolean;
  /** What the child worker opens: a SQLite file or a PostgreSQL URL. */
  url(): string;
  setup(): Promise<void>;
  connect(): Promise<Kysely<unknown>>;
  teardown(): Promise<void>;
}

export function sqliteBackend(): Backend {
  let dir = '';
  return {
    label: 'sqlite',
    dialect: 'sqlite',
    skip: false,
    url: () => join(dir, 'saga.db'),
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'amk-saga-'));
    },
    connect: async () => (await openSqliteDb(join(dir, 'saga.db'))) as unknown as Kysely<unknown>,
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function postgresBackend(): Backend {
  const name = `amk_saga_${randomBytes(5).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    label: 'postgres',
    dialect: 'postgres',
    skip: !pgUp,
    url: () => url.toString(),
    setup: () => adminQuery(`create database "${name}"`),
    connect: async () =>
      (await openPostgresDb({ url: url.toString(), poolSize: 4 })).db as unknown as Kysely<unknown>,
    teardown: () => adminQuery(`drop database if exists "${name}" with (force)`),
  };
}

export function makeEngine(
  db: Kysely<unknown>,
  dialect: 'sqlite' | 'postgres',
  sandbox: SandboxHandle,
  options: Partial<SagaOptions> = {},
  workerId?: string,
  logger: Logger = silentLogger(),
) {
  const client = new AirtableClient({
    token: sandbox.token,
    baseUrl: sandbox.url,
    maxRetries: 1,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 50,
    limiter: createMemoryLimiter({
      perBase: { limit: 1000, windowMs: 1000 },
      perToken: { limit: 1000, windowMs: 1000 },
    }),
  });
  const schemas = new SchemaCache(client);
  const tools = createToolRuntime({
    tools: ALL_TOOLS,
    deps: { client, schemas, defaultBase: BASE, maxResponseChars: 100_000, logger: silentLogger() },
  });
  const repo = new SagaRepository(db as Kysely<SagaTables>, dialect);
  return new SagaEngine({
    repo,
    tools,
    airtable: { client, schemas, defaultBase: BASE },
    logger,
    workerId,
    options: defaultSagaOptions({ pollMs: 50, leaseMs: 2000, ...options }),
  });
}

/** Every record of a table, sorted, computed fields left out (they change with any write). */
export async function snapshot(sandbox: SandboxHandle, table: string) {
  const client = new AirtableClient({ token: sandbox.token, baseUrl: sandbox.url });
  const schema = (await client.getBaseSchema(BASE)).find((t) => t.name === table)!;
  const computed = new Set(
    schema.fields
      .filter((f) =>
        [
          'formula',
          'rollup',
          'count',
          'lookup',
          'multipleLookupValues',
          'lastModifiedTime',
          'lastModifiedBy',
        ].includes(f.type),
      )
      .map((f) => f.name),
  );
  const page = await client.listRecords(BASE, table, { maxRecords: 100_000 });
  return page.records
    .map((r) => ({
      id: r.id,
      fields: Object.fromEntries(Object.entries(r.fields).filter(([k]) => !computed.has(k))),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export async function anyRecordId(sandbox: SandboxHandle, table: string): Promise<string> {
  return (await snapshot(sandbox, table))[0]!.id;
}
