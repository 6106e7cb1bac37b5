/**
 * Library entry: build the MCP server into your own process, use the
 * Airtable client on its own, or start the sandbox for tests and demos.
 */
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { SandboxHandle, SandboxOptions } from './sandbox/options.js';
import type { HttpServerHandle, StartHttpOptions } from './transports/http/index.js';

export {
  AirtableClient,
  type AirtableClientOptions,
  AirtableError,
  createMemoryLimiter,
} from './airtable/index.js';
export type { RateLimiter } from './airtable/limiter.js';
export type * from './airtable/types.js';
export { type ApiRouteSpec, type ApiRoutes, HttpProblem, problems, reply } from './app/api.js';
export { AuthFailure, type AuthStrategy } from './app/auth.js';
export {
  defineModule,
  type GdprHooks,
  type ModuleContext,
  type ModuleDefinition,
  type ModuleInstance,
  type RunMode,
} from './app/module.js';
export { defineSection, option, readSection } from './app/options.js';
export { ANONYMOUS, canUseBase, hasScope, type Principal, SCOPES, type Scope } from './app/principal.js';
export type { App, BuildAppOptions } from './app/root.js';
export type { ToolCallOutcome, ToolRuntime } from './app/runtime.js';
export type { UsageEvent, UsageSink } from './app/usage.js';
export { type Config, ConfigError, ConfigSchema, loadConfig } from './config.js';
export type {
  SandboxFaultOptions,
  SandboxHandle,
  SandboxOptions,
  SandboxRateLimitOptions,
  SandboxStats,
} from './sandbox/options.js';
export type { ToolCallEvent } from './server.js';
export { type CreateServerOptions, createServer, selectTools } from './server.js';
export { SchemaCache } from './tools/context.js';
export { defineTool } from './tools/define.js';
export { DEFAULT_TOOLSETS, TOOLSETS, type ToolsetName } from './tools/toolsets.js';
export type { HttpServerHandle, StartHttpOptions } from './transports/http/index.js';
export { VERSION } from './version.js';

/**
 * Start an Airtable-compatible API server (demo data, rate limits, fault
 * injection). Loaded on demand so that embedding the server alone never
 * loads SQLite.
 */
export async function startSandbox(options?: SandboxOptions): Promise<SandboxHandle> {
  const sandbox = await import('./sandbox/index.js');
  return sandbox.startSandbox(options);
}

/**
 * Start the hosted HTTP server (Streamable HTTP, legacy SSE, health, metrics,
 * /api and the modules) from a configuration (see `loadConfig`). Loaded on
 * demand, like the sandbox. `options.modules` replaces the shipped modules
 * (pass your own `defineModule` definitions, plus any of ours).
 */
export async function startHttpServer(
  config: Config,
  options?: Logger | StartHttpOptions,
): Promise<HttpServerHandle> {
  const http = await import('./transports/http/index.js');
  return http.startHttpServer(config, options);
}

/**
 * Build the running parts (client, store, tool runtime, modules) without a
 * transport: for a process that calls tools in-process (`app.tools.call`).
 * Close it with `app.close()`.
 */
export async function buildApp(
  config: Config,
  mode: import('./app/module.js').RunMode = 'cli',
  options?: import('./app/root.js').BuildAppOptions,
): Promise<import('./app/root.js').App> {
  const root = await import('./app/root.js');
  return root.buildApp(config, mode, options);
}
