/**
 * A real hosted server for module tests: HTTP on a free loopback port, the
 * built-in sandbox as Airtable over real HTTP, SQLite in a fresh temp dir
 * (or DATABASE_URL / REDIS_URL from `env`), and exactly the modules given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleDefinition } from '../../src/app/module.js';
import { type ConfigFlags, loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { type HttpServerHandle, startHttpServer } from '../../src/transports/http/index.js';

export interface AppServerOptions {
  /** Environment variables as the server would read them (nothing from process.env leaks in). */
  env?: Record<string, string | undefined>;
  flags?: ConfigFlags;
  /** The modules that exist for this server; all of them run unless env.MODULES picks. Default none. */
  modules?: readonly ModuleDefinition[];
}

export interface AppServer {
  /** Origin plus base path, e.g. http://127.0.0.1:43123 (append /api/..., /mcp). */
  url: string;
  /** The sandbox's URL (its token is the sandbox default unless env sets one). */
  sandboxUrl: string;
  handle: HttpServerHandle;
  /** fetch against the server: `fetch('/api/openapi.json')`; a JSON `json` init field becomes the body. */
  fetch(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startAppServer(options: AppServerOptions = {}): Promise<AppServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amk-app-'));
  const modules = options.modules ?? [];
  const env = {
    DATA_DIR: dataDir,
    MCP_HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    AIRTABLE_SANDBOX: 'true',
    ...(modules.length ? {} : { MODULES: 'none' }),
    ...options.env,
  };
  const config = loadConfig({ transport: 'http', ...options.flags }, env, modules);
  let handle: HttpServerHandle;
  try {
    handle = await startHttpServer(config, { logger: silentLogger(), modules });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const url = handle.url;
  return {
    url,
    sandboxUrl: handle.app.target.baseUrl,
    handle,
    fetch(path, init = {}) {
      const { json, token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined) headers.set('content-type', 'application/json');
      if (token) headers.set('authorization', `Bearer ${token}`);
      return fetch(`${url}${path}`, {
        ...rest,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    },
    async close() {
      await handle.close(1_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
