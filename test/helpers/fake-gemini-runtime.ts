/**
 * What the orchestrator's loop tests run against without a whole server:
 * the core's tool runtime (src/tools/runtime.ts: validation, scopes, base
 * permissions, error texts) over real HTTP to a real sandbox, a usage sink
 * that keeps what it is given, and SQLite with the orchestrator's tables.
 */
import { type Kysely, Migrator } from 'kysely';
import { AirtableClient, createMemoryLimiter } from '../../src/airtable/index.js';
import type { ToolRuntime } from '../../src/app/runtime.js';
import type { UsageEvent, UsageSink } from '../../src/app/usage.js';
import { toolCallUsage } from '../../src/app/usage-sink.js';
import { silentLogger } from '../../src/logger.js';
import { orchestratorMigrations } from '../../src/orchestrator/migrations.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { SandboxHandle } from '../../src/sandbox/options.js';
import { openSqliteDb } from '../../src/store/sqlite.js';
import { SchemaCache } from '../../src/tools/context.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { createToolRuntime } from '../../src/tools/runtime.js';

export const DEMO_BASE = 'appSandboxDemo001';
export const ARCHIVE_BASE = 'appSandboxArchive';

export interface TestRuntime {
  runtime: ToolRuntime;
  usage: UsageSink & { events: UsageEvent[] };
  sandbox: SandboxHandle;
  airtable: AirtableClient;
  close(): Promise<void>;
}

export async function startTestRuntime(): Promise<TestRuntime> {
  const sandbox = await startSandbox({ rateLimit: false });
  const airtable = new AirtableClient({
    token: sandbox.token,
    baseUrl: sandbox.url,
    limiter: createMemoryLimiter({
      perBase: { limit: 1000, windowMs: 1000 },
      perToken: { limit: 1000, windowMs: 1000 },
    }),
  });
  const usage = memoryUsage();
  // The core's own runtime (validation, scopes, base permissions, error texts), as the root builds it.
  const runtime = createToolRuntime({
    tools: ALL_TOOLS,
    deps: {
      client: airtable,
      schemas: new SchemaCache(airtable),
      logger: silentLogger(),
      defaultBase: DEMO_BASE,
      maxResponseChars: 80_000,
    },
    onCall: (call) => usage.record(toolCallUsage(call)),
  });
  return { runtime, usage, sandbox, airtable, close: () => sandbox.stop() };
}

export function memoryUsage(): UsageSink & { events: UsageEvent[] } {
  const events: UsageEvent[] = [];
  return { events, record: (event) => void events.push(event), flush: async () => {} };
}

/** A SQLite database (':memory:' or a file) with the orchestrator's tables. */
export async function openChatDb(file = ':memory:'): Promise<Kysely<unknown>> {
  const db = (await openSqliteDb(file)) as unknown as Kysely<unknown>;
  await migrateChat(db, 'sqlite');
  return db;
}

/** Applies the orchestrator's migrations (as the root would, under its own migration table here). */
export async function migrateChat(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const migrations = orchestratorMigrations(dialect);
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'test_orchestrator_migration',
    migrationLockTableName: 'test_orchestrator_migration_lock',
  }).migrateToLatest();
  if (error) throw error;
}
