/**
 * Library entry: build the MCP server into your own process, use the
 * Airtable client on its own, or start the sandbox for tests and demos.
 */
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { SandboxHandle, SandboxOptions } from './sandbox/options.js';
import type { HttpServerHandle } from './transports/http/index.js';

export {
  AirtableClient,
  type AirtableClientOptions,
  AirtableError,
  createMemoryLimiter,
} from './airtable/index.js';
export type { RateLimiter } from './airtable/limiter.js';
export type * from './airtable/types.js';
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
export { DEFAULT_TOOLSETS, TOOLSETS, type ToolsetName } from './tools/toolsets.js';
export type { HttpServerHandle } from './transports/http/index.js';
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
 * Start the hosted HTTP server (Streamable HTTP, legacy SSE, health, metrics)
 * from a configuration (see `loadConfig`). Loaded on demand, like the sandbox.
 */
export async function startHttpServer(config: Config, logger?: Logger): Promise<HttpServerHandle> {
  const http = await import('./transports/http/index.js');
  return http.startHttpServer(config, logger);
}
