/**
 * The orchestrator for embedding apps: `createOrchestrator({ tools })` and
 * `send(message, { session, signal })`, which returns a turn to await
 * (`turn.result`) and to iterate for events (text deltas, tool calls and
 * results, approval requests, usage), so an app can build its own UI.
 * Light at import: the engine loads on first use.
 */
import type { Kysely } from 'kysely';
import { HttpProblem } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { ToolRuntime } from '../app/runtime.js';
import type { UsageSink } from '../app/usage.js';
import type { Logger } from '../logger.js';
import type { StoreDialect } from '../store/types.js';
import type { ThinkingLevel } from './models.js';
import type { Orchestrator } from './orchestrator.js';
import { ChatTurn } from './turn.js';
import type { ChatResult, EmitEvent } from './types.js';

export interface CreateOrchestratorOptions {
  /** The app's tool runtime (permissions, limiter and usage records come from it). */
  tools: ToolRuntime;
  /** Who the chat acts as; default an operator with every scope on every base. */
  principal?: Principal;
  /** Default process.env.GEMINI_API_KEY; without one every turn fails with a 503 problem. */
  apiKey?: string;
  model?: string;
  baseUrl?: string;
  apiVersion?: 'v1' | 'v1beta' | 'v1alpha';
  writePolicy?: 'ask' | 'allow' | 'deny';
  maxSteps?: number;
  thinkingBudget?: number;
  thinkingLevel?: ThinkingLevel;
  turnTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxRetries?: number;
  contextTokens?: number;
  maxOutputTokens?: number;
  /** A price table like GEMINI_PRICING (inline JSON or a file). */
  pricing?: string;
  /** A database with the orchestrator's tables (the app's store); default a private in-memory SQLite. */
  // biome-ignore lint/suspicious/noExplicitAny: any database type; the orchestrator types its own tables.
  store?: { db: Kysely<any>; dialect: StoreDialect };
  usage?: UsageSink;
  logger?: Logger;
  defaultBase?: string;
}

export interface SendOptions {
  /** Continue this session; default a new one (its id is in the result and the first event). */
  session?: string;
  signal?: AbortSignal;
  baseId?: string;
  model?: string;
  thinkingBudget?: number;
  thinkingLevel?: ThinkingLevel;
  /** Stream text deltas as events; default true. */
  stream?: boolean;
}

export interface EmbeddedOrchestrator {
  send(message: string, options?: SendOptions): ChatTurn;
  /** Approve (or reject) one pending writing call; the turn continues once none is left open. */
  approve(
    session: string,
    callId: string,
    approve?: boolean,
    options?: Pick<SendOptions, 'signal' | 'stream'>,
  ): ChatTurn;
  decide(
    session: string,
    decisions: readonly { callId: string; approve: boolean }[],
    options?: Pick<SendOptions, 'signal' | 'stream'>,
  ): ChatTurn;
  sessions(): Promise<Awaited<ReturnType<Orchestrator['listSessions']>>>;
  history(session: string, raw?: boolean): Promise<Record<string, unknown>>;
  deleteSession(session: string): Promise<void>;
  models(): Promise<ReturnType<Orchestrator['models']>>;
  /** Closes the private database, if one was opened. */
  close(): Promise<void>;
}

const OPERATOR: Principal = Object.freeze({
  kind: 'system',
  id: 'library',
  scopes: ['tools:read', 'tools:write', 'chat', 'workflows', 'admin'],
  bases: '*',
}) as Principal;

export function createOrchestrator(options: CreateOrchestratorOptions): EmbeddedOrchestrator {
  const principal = options.principal ?? OPERATOR;
  let closeDb: (() => Promise<void>) | undefined;
  let ready: Promise<Orchestrator> | undefined;
  const orchestrator = () => {
    ready ??= build(options).then(({ orchestrator, close }) => {
      closeDb = close;
      return orchestrator;
    });
    return ready;
  };
  const turn = (run: (o: Orchestrator, emit: EmitEvent) => Promise<ChatResult>) =>
    new ChatTurn(async (emit) => run(await orchestrator(), emit));
  const decide: EmbeddedOrchestrator['decide'] = (session, decisions, opts = {}) =>
    turn((o, emit) =>
      o.runDecide(
        {
          principal,
          sessionId: session,
          decisions,
          stream: opts.stream ?? true,
          signal: opts.signal,
          source: 'library',
        },
        emit,
      ),
    );
  return {
    send: (message, opts = {}) =>
      turn((o, emit) =>
        o.runSend(
          {
            principal,
            message,
            sessionId: opts.session,
            baseId: opts.baseId,
            model: opts.model,
            thinkingBudget: opts.thinkingBudget,
            thinkingLevel: opts.thinkingLevel,
            stream: opts.stream ?? true,
            signal: opts.signal,
            source: 'library',
          },
          emit,
        ),
      ),
    approve: (session, callId, approve = true, opts) => decide(session, [{ callId, approve }], opts),
    decide,
    sessions: async () => (await orchestrator()).listSessions(principal),
    history: async (session, raw = false) => (await orchestrator()).history(principal, session, raw),
    deleteSession: async (session) => (await orchestrator()).deleteSession(principal, session),
    models: async () => (await orchestrator()).models(),
    close: async () => {
      if (ready) await ready.catch(() => undefined);
      await closeDb?.();
    },
  };
}

async function build(
  options: CreateOrchestratorOptions,
): Promise<{ orchestrator: Orchestrator; close?: () => Promise<void> }> {
  const [
    { sectionSchema },
    { orchestratorOptions },
    { engineSettings, geminiSettings },
    { Orchestrator },
    { ChatRepository },
    { loadPricing },
    { silentLogger },
  ] = await Promise.all([
    import('../app/options.js'),
    import('./options.js'),
    import('./settings.js'),
    import('./orchestrator.js'),
    import('./repository.js'),
    import('./models.js'),
    import('../logger.js'),
  ]);
  const parsed = sectionSchema(orchestratorOptions).safeParse(
    withoutUndefined({
      apiKey: options.apiKey ?? process.env.GEMINI_API_KEY,
      model: options.model,
      baseUrl: options.baseUrl,
      apiVersion: options.apiVersion,
      writePolicy: options.writePolicy,
      maxSteps: options.maxSteps,
      thinkingBudget: options.thinkingBudget,
      thinkingLevel: options.thinkingLevel,
      turnTimeoutMs: options.turnTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxRetries: options.maxRetries,
      contextTokens: options.contextTokens,
      maxOutputTokens: options.maxOutputTokens,
      pricing: options.pricing,
    }),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidOption(`${issue.path.join('.')}: ${issue.message}`);
  }
  const settings = parsed.data as import('./options.js').OrchestratorSettings;
  let prices: ReturnType<typeof loadPricing>;
  try {
    prices = loadPricing(settings.pricing);
  } catch (error) {
    throw invalidOption((error as Error).message);
  }
  const store = options.store ?? (await privateStore());
  const orchestrator = new Orchestrator({
    repo: new ChatRepository(store.db),
    tools: options.tools,
    usage: options.usage,
    logger: options.logger ?? silentLogger(),
    settings: engineSettings(settings),
    gemini: geminiSettings(settings),
    prices,
    defaultBase: options.defaultBase,
  });
  return { orchestrator, close: options.store ? undefined : () => store.db.destroy() };
}

/** An in-memory SQLite database with the orchestrator's tables: sessions last as long as the process. */
async function privateStore(): Promise<NonNullable<CreateOrchestratorOptions['store']>> {
  const [{ Migrator }, { openSqliteDb }, { orchestratorMigrations }] = await Promise.all([
    import('kysely'),
    import('../store/sqlite.js'),
    import('./migrations.js'),
  ]);
  const db = await openSqliteDb(':memory:');
  const migrations = orchestratorMigrations('sqlite');
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  if (error) throw error;
  return { db, dialect: 'sqlite' };
}

/** A bad option: every turn fails with it (as an error event and a rejected result), so the app sees why. */
function invalidOption(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid orchestrator options', `createOrchestrator: ${detail}`);
}

function withoutUndefined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}
