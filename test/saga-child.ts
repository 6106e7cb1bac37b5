/**
 * A saga worker in its own process, for the kill -9 tests (saga-durability.test.ts):
 * SAGA_DB (sqlite file path or postgres URL), SANDBOX_URL, SANDBOX_TOKEN,
 * WORKER_ID, LEASE_MS. Prints "ready" once it polls.
 */
import type { Kysely } from 'kysely';
import { AirtableClient, createMemoryLimiter } from '../src/airtable/index.js';
import { silentLogger } from '../src/logger.js';
import { SagaEngine } from '../src/saga/engine.js';
import { defaultSagaOptions } from '../src/saga/options.js';
import { SagaRepository } from '../src/saga/repository.js';
import type { SagaTables } from '../src/saga/types.js';
import { openPostgresDb } from '../src/store/postgres.js';
import { openSqliteDb } from '../src/store/sqlite.js';
import { SchemaCache } from '../src/tools/context.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import { createToolRuntime } from '../src/tools/runtime.js';

const env = process.env;
const url = env.SAGA_DB!;
const dialect = url.startsWith('postgres') ? 'postgres' : 'sqlite';
const db = (dialect === 'postgres'
  ? (await openPostgresDb({ url, poolSize: 3 })).db
  : await openSqliteDb(url)) as unknown as Kysely<SagaTables>;
const client = new AirtableClient({
  token: env.SANDBOX_TOKEN!,
  baseUrl: env.SANDBOX_URL!,
  limiter: createMemoryLimiter({
    perBase: { limit: 1000, windowMs: 1000 },
    perToken: { limit: 1000, windowMs: 1000 },
  }),
});
const schemas = new SchemaCache(client);
const BASE = 'appSandboxDemo001';
const tools = createToolRuntime({
  tools: ALL_TOOLS,
  deps: { client, schemas, defaultBase: BASE, maxResponseChars: 100_000, logger: silentLogger() },
});
const engine = new SagaEngine({
  repo: new SagaRepository(db, dialect),
  tools,
  airtable: { client, schemas, defaultBase: BASE },
  logger: silentLogger(),
  workerId: env.WORKER_ID,
  options: defaultSagaOptions({ pollMs: 50, leaseMs: Number(env.LEASE_MS ?? 1000) }),
});
engine.startWorker();
process.stdout.write('ready\n');
