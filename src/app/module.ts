/**
 * The module contract. A module (platform, orchestrator, saga, console, or
 * one an embedder writes) declares what it adds; the composition root
 * (src/app/root.ts) wires it. A module depends on the core, never the
 * reverse, and reaches other modules only through what the context hands it
 * (the tool runtime, the GDPR registry, the shared store).
 */
import type { Kysely, Migration } from 'kysely';
import type { Registry } from 'prom-client';
import type { AirtableClient } from '../airtable/index.js';
import type { Logger } from '../logger.js';
import type { PubSub, SharedRedis } from '../redis/index.js';
import type { StoreDialect } from '../store/types.js';
import type { SchemaCache } from '../tools/context.js';
import type { DefinedTool } from '../tools/define.js';
import type { ApiRoutes } from './api.js';
import type { AuthStrategy } from './auth.js';
import type { AppConfig, OptionSection } from './options.js';
import type { Principal } from './principal.js';
import type { ToolRuntime } from './runtime.js';
import type { UsageSink } from './usage.js';

export type RunMode = 'stdio' | 'http' | 'cli';

/** The shared database: modules own their tables (and migrations) inside it. */
export interface ModuleStore {
  /** Untyped at this level: each module types its own tables (`db as Kysely<PlatformTables>`). */
  db: Kysely<any>;
  dialect: StoreDialect;
}

/** Everything a user's data is made of, per module, for export and erasure (GDPR). */
export interface GdprHooks {
  /** Everything this module holds about the user, as plain JSON (no secrets, no hashes). */
  export(userId: string): Promise<unknown>;
  /** Remove or anonymise it. Must be idempotent: erasure may be retried. */
  erase(userId: string): Promise<void>;
}

/** What the root offers every module: GDPR across all modules (the platform drives it). */
export interface GdprRegistry {
  /** `{ [moduleName]: exported }` for every module with GDPR hooks, the core included. */
  exportUser(userId: string): Promise<Record<string, unknown>>;
  eraseUser(userId: string): Promise<void>;
}

/** Stored principals brought up to date (a workflow's owner, checked before each step). */
export interface PrincipalSource {
  /**
   * The principal as it is now: current scopes and bases, or null when its
   * account or key no longer works (disabled, erased, revoked, expired).
   * Server keys, the system and anonymous come back unchanged.
   */
  current(stored: Principal): Promise<Principal | null>;
}

export interface HealthCheck {
  name: string;
  /** A failing critical check makes /health answer 503; others report "degraded". */
  critical: boolean;
  check(signal: AbortSignal): Promise<void>;
}

export interface ModuleContext {
  config: AppConfig;
  mode: RunMode;
  /** A child logger tagged with the module's name; stderr only. */
  logger: Logger;
  store: ModuleStore;
  /** Present when REDIS_URL is set (server mode with several replicas). */
  redis?: SharedRedis;
  /** Cross-replica messages (Redis) or in-process ones. */
  pubsub: PubSub;
  /** The Prometheus registry /metrics serves; register the module's own metrics here. */
  metrics: Registry;
  /** Every tool (core and modules), callable in-process with a principal's permissions. */
  tools: ToolRuntime;
  /** Usage records (analytics reads them): tool calls are recorded by the runtime; add chat turns, steps… */
  usage: UsageSink;
  gdpr: GdprRegistry;
  /** Stored principals as they are now (the platform answers for users and their keys). */
  principals: PrincipalSource;
  /** The Airtable client and schema cache the tools use. Check `canUseBase` before touching a base. */
  airtable: { client: AirtableClient; schemas: SchemaCache; defaultBase?: string };
  /** Mount point of the hosted server (e.g. '/airtable'); '' at the root. */
  basePath: string;
}

export interface ModuleCommandContext {
  config: AppConfig;
  /**
   * The words after the command, in order: positionals, flags the CLI does not
   * know (`--email`), and the command's own declared flags (`-m`, also in the
   * config). App-wide flags (`--sandbox`, `--data-dir`, …) are already in `config`.
   */
  args: readonly string[];
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Build the app (store migrated, modules created and started) for the command; closed after it returns. */
  app(): Promise<ModuleContext & { modules: ReadonlyMap<string, ModuleInstance> }>;
}

/** What a module adds, once created. Every part is optional. */
export interface ModuleInstance {
  /** Toolsets this module adds (name → description); its tools name one of them. */
  toolsets?: Record<string, string>;
  /** Tools, registered on every MCP server and in the tool runtime (filtered by toolsets, read-only, scopes). */
  tools?: readonly DefinedTool[];
  /** Tried in order after the core's server-key strategy. */
  authStrategies?: readonly AuthStrategy[];
  /** Routes under /api (after authentication unless a route says otherwise). */
  routes?(api: ApiRoutes): void;
  health?: readonly HealthCheck[];
  gdpr?: GdprHooks;
  /**
   * For principals this module issues (the platform: users and personal keys):
   * the principal now, null when it no longer works, undefined when not this module's.
   */
  currentPrincipal?(stored: Principal): Promise<Principal | null | undefined>;
  /** Called after every module is created, before the server listens. */
  start?(): Promise<void>;
  /** Called on shutdown, in reverse order of start. */
  stop?(): Promise<void>;
  /** Anything else the module wants to hand to an embedder (`app.modules.get(name)`). */
  api?: unknown;
}

export interface ModuleCommand {
  /** One line for --help, e.g. 'users create --email E [--admin] | list | disable ID'. */
  usage: string;
  summary: string;
  /** false: the command never calls Airtable, so it runs without a token or --sandbox. Default true. */
  needsAirtable?: boolean;
  run(ctx: ModuleCommandContext): Promise<number>;
}

/**
 * A module's definition. `options` and `commands` are read when the CLI
 * starts (keep that file light); `create` runs only when the module is on.
 */
export interface ModuleDefinition {
  name: string;
  summary: string;
  /** Its config section: flags, env vars, defaults and help, declared once (see options.ts). */
  options?: OptionSection;
  /** Why the module cannot run with this config (undefined: it can). */
  unmet?(config: AppConfig, mode: RunMode): string | undefined;
  /** Its tables. Names are module-local ('001_users'); the root stores them as '<module>/001_users'. */
  migrations?(dialect: StoreDialect): Record<string, Migration>;
  /** CLI subcommands: `airtable-mcp-kit <name> ...`. */
  commands?: Record<string, ModuleCommand>;
  create(ctx: ModuleContext): Promise<ModuleInstance> | ModuleInstance;
}

/** Identity helper: gives a module's definition its type. */
export function defineModule(definition: ModuleDefinition): ModuleDefinition {
  return definition;
}
