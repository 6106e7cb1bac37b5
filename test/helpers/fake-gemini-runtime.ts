/**
 * What the orchestrator's unit tests run against until the composition
 * root's tool runtime is wired: the real tools over real HTTP to a real
 * sandbox, with the permission rules the runtime contract states (scopes,
 * read-only principals see no writing tools, a base the principal may not
 * use is refused before Airtable is asked), and a usage sink that keeps
 * what it is given.
 */
import { type Kysely, Migrator } from 'kysely';
import { AirtableClient, createMemoryLimiter } from '../../src/airtable/index.js';
import { canUseBase, canWrite, hasScope, type Principal } from '../../src/app/principal.js';
import type { ToolCallOptions, ToolCallOutcome, ToolRuntime } from '../../src/app/runtime.js';
import type { UsageEvent, UsageSink } from '../../src/app/usage.js';
import { silentLogger } from '../../src/logger.js';
import { orchestratorMigrations } from '../../src/orchestrator/migrations.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { SandboxHandle } from '../../src/sandbox/options.js';
import { toErrorResult } from '../../src/server.js';
import { openSqliteDb } from '../../src/store/sqlite.js';
import { SchemaCache, type ToolContext } from '../../src/tools/context.js';
import { type DefinedTool, isWriteTool } from '../../src/tools/define.js';
import { ToolInputError } from '../../src/tools/errors.js';
import { ALL_TOOLS } from '../../src/tools/index.js';

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
  const runtime = new SandboxToolRuntime(airtable, DEMO_BASE, usage);
  return { runtime, usage, sandbox, airtable, close: () => sandbox.stop() };
}

export function memoryUsage(): UsageSink & { events: UsageEvent[] } {
  const events: UsageEvent[] = [];
  return { events, record: (event) => void events.push(event), flush: async () => {} };
}

class SandboxToolRuntime implements ToolRuntime {
  readonly #schemas: SchemaCache;

  constructor(
    private readonly client: AirtableClient,
    private readonly defaultBase: string,
    private readonly usage: UsageSink,
  ) {
    this.#schemas = new SchemaCache(client);
  }

  list(principal: Principal): readonly DefinedTool[] {
    if (!hasScope(principal, 'tools:read')) return [];
    return ALL_TOOLS.filter((tool) => canWrite(principal) || !isWriteTool(tool));
  }

  get(name: string): DefinedTool | undefined {
    return ALL_TOOLS.find((tool) => tool.name === name);
  }

  async call(name: string, args: unknown, options: ToolCallOptions): Promise<ToolCallOutcome> {
    const started = performance.now();
    const tool = this.get(name);
    const finish = (
      outcome: ToolCallOutcome['outcome'],
      text: string,
      structured?: Record<string, unknown>,
    ) => {
      const durationMs = performance.now() - started;
      this.usage.record({
        kind: 'tool',
        name,
        outcome,
        durationMs,
        principalKind: options.principal.kind,
        principalId: options.principal.id,
        sessionId: options.sessionId,
        source: options.source,
      });
      return { text, structured, isError: outcome !== 'ok', outcome, durationMs, airtableRequests: 0 };
    };
    if (!tool) return finish('invalid_input', `Unknown tool ${name}.`);
    if (!this.list(options.principal).includes(tool)) {
      return finish(
        'denied',
        `${name} is not allowed for this key (it ${isWriteTool(tool) ? 'writes' : 'reads'}).`,
      );
    }
    const input = (args ?? {}) as Record<string, unknown>;
    const base = typeof input.base_id === 'string' ? input.base_id : this.defaultBase;
    if (!canUseBase(options.principal, base)) return finish('denied', `You may not use base ${base}.`);
    const ctx: ToolContext = {
      client: this.client,
      schemas: this.#schemas,
      defaultBase: this.defaultBase,
      maxResponseChars: 80_000,
      signal: options.signal ?? new AbortController().signal,
      progress: async () => {},
      logger: silentLogger(),
    };
    try {
      const parsed = tool.inputSchema.safeParse(input);
      if (!parsed.success) return finish('invalid_input', `Invalid arguments: ${parsed.error.message}`);
      const result = await tool.run(parsed.data as never, ctx);
      return finish('ok', result.text, result.structured as Record<string, unknown>);
    } catch (error) {
      const text = toErrorResult(name, error, silentLogger())
        .content.map((c) => ('text' in c ? c.text : ''))
        .join('');
      return finish(error instanceof ToolInputError ? 'invalid_input' : 'error', text);
    }
  }
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
