/**
 * Library entry: build the MCP server into your own process, use the
 * Airtable client on its own, or start the sandbox for tests and demos.
 */
import type { SandboxHandle, SandboxOptions } from './sandbox/options.js';

export { createServer, selectTools, type CreateServerOptions } from './server.js';
export {
  AirtableClient,
  AirtableError,
  createMemoryLimiter,
  type AirtableClientOptions,
} from './airtable/index.js';
export type { RateLimiter } from './airtable/limiter.js';
export type * from './airtable/types.js';
export { loadConfig, ConfigSchema, ConfigError, type Config } from './config.js';
export { TOOLSETS, DEFAULT_TOOLSETS, type ToolsetName } from './tools/toolsets.js';
export { SchemaCache } from './tools/context.js';
export { VERSION } from './version.js';
export type {
  SandboxOptions,
  SandboxHandle,
  SandboxStats,
  SandboxFaultOptions,
  SandboxRateLimitOptions,
} from './sandbox/options.js';

/**
 * Start an Airtable-compatible API server (demo data, rate limits, fault
 * injection). Loaded on demand so that embedding the server alone never
 * loads SQLite.
 */
export async function startSandbox(options?: SandboxOptions): Promise<SandboxHandle> {
  const sandbox = await import('./sandbox/index.js');
  return sandbox.startSandbox(options);
}
