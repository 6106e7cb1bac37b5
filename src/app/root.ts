/**
 * The composition root: the one place that turns a Config into running
 * parts (the Airtable client and limiter, the schema cache, the store,
 * Redis state, the tool runtime, the enabled modules) and hands them to
 * whichever transport runs. Transports only receive what it built.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { AirtableClient, RateLimiter } from '../airtable/index.js';
import { createLogger, type Logger } from '../logger.js';
import type { SharedRedis } from '../redis/connection.js';
import { createMemoryPubSub, type PubSub } from '../redis/pubsub.js';
import { selectTools } from '../server.js';
import type { SqlStore } from '../store/sql-store.js';
import type { Store } from '../store/types.js';
import type { UsageRecorder } from '../store/usage-recorder.js';
import { SchemaCache } from '../tools/context.js';
import type { DefinedTool } from '../tools/define.js';
import { CHARS_PER_TOKEN } from '../tools/format.js';
import {
  AirtableRequestCounter,
  type CoreToolRuntime,
  createToolRuntime,
  type ToolCallRecord,
} from '../tools/runtime.js';
import { TOOLSETS } from '../tools/toolsets.js';
import { type AirtableTarget, clientFor, limiterFor, resolveTarget } from './airtable.js';
import type { AuthStrategy } from './auth.js';
import type {
  GdprHooks,
  GdprRegistry,
  HealthCheck,
  ModuleContext,
  ModuleDefinition,
  ModuleInstance,
  PrincipalSource,
  RunMode,
} from './module.js';
import { MODULES, moduleMigrations, selectModules } from './modules.js';
import type { AppConfig } from './options.js';
import type { UsageSink } from './usage.js';
import { createUsageSink, toolCallUsage } from './usage-sink.js';

/** What a hosted server shares beyond one request (store, Redis); built by the HTTP transport's state opener. */
export interface SharedState {
  store: Store;
  redis?: SharedRedis;
  limiter: RateLimiter;
  pubsub: PubSub;
  usage: UsageRecorder;
  /** Schema cache entries shared between replicas, and invalidations. */
  cache?: import('../redis/cache.js').ResponseCache;
  close(): Promise<void>;
}

export interface BuildAppOptions {
  /** The modules that may run (default: every module the package ships); --modules picks among them. */
  modules?: readonly ModuleDefinition[];
  logger?: Logger;
  /** HTTP mode passes its state (store, Redis); other modes get a store here when a module needs one. */
  state?: SharedState;
  /** Prometheus registry (HTTP mode: the one /metrics serves). */
  metrics?: Registry;
  /** Called for every tool call, after its usage record (HTTP mode: metrics). */
  onToolCall?: (call: ToolCallRecord) => void;
  /** Called for every Airtable client event (HTTP mode: metrics). */
  onAirtableEvent?: (event: import('../airtable/index.js').ClientEvent) => void;
  /** Build without an Airtable token (a command that never calls Airtable, such as `users`). */
  airtableOptional?: boolean;
}

export interface App {
  config: AppConfig;
  mode: RunMode;
  logger: Logger;
  target: AirtableTarget;
  client: AirtableClient;
  schemas: SchemaCache;
  /** Core and module tools, with permissions, budget and usage records. */
  tools: CoreToolRuntime;
  /** Present in HTTP and CLI mode, and when a module runs on stdio. */
  store?: Store;
  state?: SharedState;
  usage: UsageSink;
  gdpr: GdprRegistry;
  /** The running modules by name, in start order. */
  modules: ReadonlyMap<string, ModuleInstance>;
  /** The context modules were given (module commands reuse it). */
  context?: ModuleContext;
  authStrategies: readonly AuthStrategy[];
  health: readonly HealthCheck[];
  /** Stop modules (reverse order), flush usage, close what the root opened. Idempotent. */
  close(): Promise<void>;
}

/** Builds everything a transport needs. On failure, whatever was opened is closed again. */
export async function buildApp(
  config: AppConfig,
  mode: RunMode,
  options: BuildAppOptions = {},
): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const available = options.modules ?? MODULES;
  const selected = selectModules(config.modules, mode, (m) => m.unmet?.(config, mode), available);
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const app = await assemble(config, mode, options, logger, available, selected, cleanups);
    let closed: Promise<void> | undefined;
    return { ...app, close: () => (closed ??= closeAll()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function assemble(
  config: AppConfig,
  mode: RunMode,
  options: BuildAppOptions,
  logger: Logger,
  available: readonly ModuleDefinition[],
  selected: readonly ModuleDefinition[],
  cleanups: (() => Promise<void>)[],
): Promise<Omit<App, 'close'>> {
  const state = options.state ?? (await ownState(config, mode, selected, available, logger, cleanups));
  const target = await resolveTarget(config, { tokenOptional: options.airtableOptional });
  if (target.sandbox) cleanups.push(() => target.sandbox!.stop());

  const requests = new AirtableRequestCounter();
  const client = clientFor(config, target, logger, {
    limiter: state?.limiter ?? limiterFor(config),
    onEvent: (event) => {
      requests.observe(event);
      options.onAirtableEvent?.(event);
    },
  });
  const pubsub = state?.pubsub ?? createMemoryPubSub();
  const schemas = state ? sharedSchemaCache(client, state, pubsub) : new SchemaCache(client);
  const usage = createUsageSink(state?.usage, logger);

  // Module tools join the runtime after the modules are created; the runtime reads this list on each call.
  const tools: DefinedTool[] = selectTools(config.tools);
  const runtime = createToolRuntime({
    tools,
    deps: {
      client,
      schemas,
      logger,
      defaultBase: target.defaultBase,
      maxResponseChars: config.tools.maxResponseTokens * CHARS_PER_TOKEN,
    },
    requests,
    onCall: (call) => {
      usage.record(toolCallUsage(call));
      options.onToolCall?.(call);
    },
  });

  const hooks = new Map<string, GdprHooks>();
  // The store and its parts load only when there is a store: a plain stdio start stays fast.
  if (state)
    hooks.set('core', (await import('../store/gdpr.js')).coreGdprHooks((state.store as SqlStore).db));
  const gdpr = gdprRegistry(hooks, usage);

  const modules = new Map<string, ModuleInstance>();
  const principals = principalSource(modules);
  let context: ModuleContext | undefined;
  if (selected.length) {
    if (!state) throw new Error('modules need a store'); // ownState opens one whenever a module is selected
    context = {
      config,
      mode,
      logger,
      store: { db: (state.store as SqlStore).db, dialect: state.store.dialect },
      redis: state.redis,
      pubsub,
      metrics: options.metrics ?? new (await import('prom-client')).Registry(),
      tools: runtime,
      usage,
      gdpr,
      principals,
      airtable: { client, schemas, defaultBase: target.defaultBase },
      basePath: config.http.basePath,
    };
    for (const definition of selected) {
      const instance = await definition.create({
        ...context,
        logger: logger.child({ module: definition.name }),
      });
      modules.set(definition.name, instance);
      if (instance.gdpr) hooks.set(definition.name, instance.gdpr);
      for (const tool of instance.tools ?? []) {
        // Module tools follow --toolsets and --read-only like the core's, so a hosted tools/list only grows when asked.
        if (config.tools.readOnly && tool.kind !== 'read') continue;
        if (!toolsetEnabled(config, tool.toolset)) continue;
        runtime.add(tool);
      }
    }
    for (const [name, instance] of modules) {
      // Registered before start, so a module whose start fails half-way (or that has only stop) is still stopped.
      if (instance.stop) cleanups.push(() => stopModule(name, instance, logger));
      await instance.start?.();
    }
  }
  const instances = [...modules.values()];
  return {
    config,
    mode,
    logger,
    target,
    client,
    schemas,
    tools: runtime,
    store: state?.store,
    state,
    usage,
    gdpr,
    modules,
    context,
    authStrategies: instances.flatMap((m) => m.authStrategies ?? []),
    health: instances.flatMap((m) => m.health ?? []),
  };
}

/**
 * A toolset --toolsets can name (a core one, or a module's listed in TOOLSETS such as 'automation') is on only when
 * chosen; one only its module declares is on whenever the module runs.
 */
function toolsetEnabled(config: AppConfig, toolset: string): boolean {
  if (!(toolset in TOOLSETS)) return true;
  return (config.tools.toolsets as readonly string[]).includes(toolset);
}

async function stopModule(name: string, instance: ModuleInstance, logger: Logger): Promise<void> {
  try {
    await instance.stop?.();
  } catch (error) {
    logger.warn({ module: name, err: error }, 'module did not stop cleanly');
  }
}

/**
 * Outside HTTP mode the root opens the store itself, but only when something
 * needs it (a module, or a module command): a plain stdio start stays fast.
 */
async function ownState(
  config: AppConfig,
  mode: RunMode,
  selected: readonly ModuleDefinition[],
  available: readonly ModuleDefinition[],
  logger: Logger,
  cleanups: (() => Promise<void>)[],
): Promise<SharedState | undefined> {
  if (mode === 'stdio' && selected.length === 0) return undefined;
  const { dataDir, databaseUrl, poolSize } = config.store;
  const { openStore } = await import('../store/index.js');
  const { UsageRecorder } = await import('../store/usage-recorder.js');
  const store = await openStore({
    ...(databaseUrl
      ? { databaseUrl, poolSize }
      : dataDir === ':memory:'
        ? { sqliteFile: ':memory:' }
        : { dataDir }),
    moduleMigrations: moduleMigrations(available),
  });
  const usage = new UsageRecorder({ store, logger });
  usage.start();
  const pubsub = createMemoryPubSub();
  cleanups.push(async () => {
    await usage.stop().catch(() => {});
    await pubsub.close().catch(() => {});
    await store.close();
  });
  // Closed by the root's cleanups, in order with everything else it opened.
  return { store, usage, pubsub, limiter: limiterFor(config), close: async () => {} };
}

/** Schema changes made through one replica make every replica forget its cached copy. */
function sharedSchemaCache(client: AirtableClient, state: SharedState, pubsub: PubSub): SchemaCache {
  const self = randomUUID();
  const cache: SchemaCache = new SchemaCache(client, {
    shared: state.cache,
    onInvalidate: (baseId) =>
      void pubsub.publish('schema-invalidated', { baseId, from: self }).catch(() => {}),
  });
  void pubsub.subscribe('schema-invalidated', (message) => {
    const { baseId, from } = message as { baseId?: string; from?: string };
    if (baseId && from !== self) cache.forget(baseId);
  });
  return cache;
}

/** Asks the modules that issue principals (read when asked, so a module created later is included). */
function principalSource(modules: ReadonlyMap<string, ModuleInstance>): PrincipalSource {
  return {
    async current(stored) {
      if (stored.kind !== 'user' && stored.kind !== 'personal_key') return stored;
      for (const instance of modules.values()) {
        const answer = await instance.currentPrincipal?.(stored);
        if (answer !== undefined) return answer;
      }
      return stored; // no module signs people in now: nobody can have revoked it
    },
  };
}

/** Export and erasure across every module that holds user data, the core's usage records included. */
function gdprRegistry(hooks: ReadonlyMap<string, GdprHooks>, usage: UsageSink): GdprRegistry {
  return {
    async exportUser(userId) {
      await usage.flush();
      const exported: Record<string, unknown> = {};
      for (const [name, hook] of hooks) exported[name] = await hook.export(userId);
      return exported;
    },
    async eraseUser(userId) {
      await usage.flush();
      // Every module is asked even when one fails; the first failure is reported after (erasure is retried whole).
      let failure: unknown;
      for (const hook of hooks.values()) await hook.erase(userId).catch((error) => (failure ??= error));
      if (failure) throw failure;
    },
  };
}
