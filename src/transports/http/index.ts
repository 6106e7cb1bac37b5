/**
 * Hosted mode: the MCP tools over Streamable HTTP and legacy SSE.
 * `startHttpServer` is the library/test entry; `runHttp` adds signals and
 * graceful shutdown for the CLI.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AirtableClient } from '../../airtable/index.js';
import { type Config, ConfigError } from '../../config.js';
import { createLogger, type Logger } from '../../logger.js';
import { createServer, type ToolCallEvent } from '../../server.js';
import type { Store } from '../../store/types.js';
import { SchemaCache } from '../../tools/context.js';
import { VERSION } from '../../version.js';
import { type AirtableTarget, clientFor, resolveTarget } from '../stdio.js';
import { createHttpApp } from './app.js';
import type { ApiKeyAuthOptions } from './auth.js';
import { isLoopbackAddress, loopbackHosts } from './guard.js';
import { airtableCheck, HealthMonitor } from './health.js';
import { loadApiKeys } from '../../store/api-keys.js';
import type { McpServerContext } from './mcp-routes.js';
import { Metrics } from './metrics.js';
import { type Session, SessionRegistry } from './sessions.js';
import { openServerState, type ServerState } from './state.js';

export interface HttpServerHandle {
  /** Origin plus base path, e.g. http://127.0.0.1:8001 (append /mcp or /sse). */
  url: string;
  port: number;
  registry: SessionRegistry;
  metrics: Metrics;
  health: HealthMonitor;
  store: Store;
  /** Stop accepting, let in-flight requests finish within graceMs, close every session. */
  close(graceMs?: number): Promise<void>;
}

/** Which Host headers to accept: configured ones, else loopback names (and the bind address when specific). */
export function resolveAllowedHosts(
  http: Config['http'],
  port: number,
  authOn: boolean,
  logger: Logger,
): string[] {
  if (http.allowedHosts.length) return http.allowedHosts;
  const hosts = loopbackHosts(port);
  if (isLoopbackAddress(http.host)) return hosts;
  if (http.host !== '0.0.0.0' && http.host !== '::') return [...hosts, http.host, `${http.host}:${port}`];
  if (!authOn) {
    throw new ConfigError(
      `listening on ${http.host} without API keys needs ALLOWED_HOSTS (the host names clients use), to prevent DNS rebinding`,
    );
  }
  logger.warn(
    'ALLOWED_HOSTS is not set: accepting any Host header (API keys are required for every MCP request)',
  );
  return ['*'];
}

/** A database that stops answering must turn into a 503, not a request that hangs. */
const VERIFY_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * How requests authenticate: keys from the environment or a keys file, and
 * keys created in the store (`keys create`). With neither, only a loopback
 * listener may serve, or one started with an explicit --no-auth.
 */
async function authFor(http: Config['http'], store: Store): Promise<ApiKeyAuthOptions | undefined> {
  let keys: string[];
  try {
    keys = loadApiKeys({ apiKey: http.apiKey, apiKeys: http.apiKeys, keysFile: http.keysFile });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const stored = (await store.listApiKeys()).filter((k) => !k.revokedAt).length;
  if (keys.length || stored) {
    return {
      keys,
      verify: async (key) => (await withTimeout(store.verifyApiKey(key), VERIFY_TIMEOUT_MS))?.id,
    };
  }
  if (!http.noAuth && !isLoopbackAddress(http.host)) {
    throw new ConfigError(
      `refusing to listen on ${http.host} without an API key: set API_KEY / API_KEYS / API_KEYS_FILE (create one with "airtable-mcp-kit keys create --name NAME" or "keys generate"), or pass --no-auth to serve without authentication`,
    );
  }
  return undefined;
}

/** Schema changes made through one replica make every replica forget its cached copy. */
function sharedSchemaCache(client: AirtableClient, state: ServerState): SchemaCache {
  const self = randomUUID();
  const cache: SchemaCache = new SchemaCache(client, {
    shared: state.cache,
    onInvalidate: (baseId) =>
      void state.pubsub.publish('schema-invalidated', { baseId, from: self }).catch(() => {}),
  });
  void state.pubsub.subscribe('schema-invalidated', (message) => {
    const { baseId, from } = message as { baseId?: string; from?: string };
    if (baseId && from !== self) cache.forget(baseId);
  });
  return cache;
}

function usageRecorder(state: ServerState, metrics: Metrics, context: McpServerContext) {
  return (event: ToolCallEvent) => {
    metrics.observeToolCall(event);
    state.usage.record({
      at: new Date().toISOString(),
      tool: event.tool,
      outcome: event.outcome,
      durationMs: Math.round(event.durationMs),
      keyId: context.keyId ?? null,
      sessionId: context.sessionId() ?? null,
    });
  };
}

/**
 * Session rows: each session's writes run in order (its close never overtakes
 * its insert on another pool connection), and shutdown waits for them.
 */
function persistSessions(state: ServerState, logger: Logger) {
  const chains = new Map<string, Promise<void>>();
  const warn = (error: unknown) => logger.debug({ err: error }, 'session record not written');
  const inOrder = (id: string, write: () => Promise<void>) => {
    const next = (chains.get(id) ?? Promise.resolve()).then(write).catch(warn);
    chains.set(id, next);
    void next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  };
  return {
    onOpen: (session: Session) => {
      const now = new Date().toISOString();
      const record = { id: session.id, keyId: session.keyId ?? null, transport: session.kind };
      inOrder(session.id, () =>
        state.store.saveSession({ ...record, createdAt: now, lastSeenAt: now, closedAt: null }),
      );
    },
    onClose: (id: string) => {
      const now = new Date().toISOString();
      inOrder(id, () => state.store.closeSession(id, now));
      void state.eventStores.forgetSession(id);
    },
    drain: () => Promise.all(chains.values()).then(() => {}),
  };
}

export async function startHttpServer(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<HttpServerHandle> {
  const metrics = new Metrics();
  const state = await openServerState(config, logger, metrics);
  try {
    return await serve(config, logger, metrics, state);
  } catch (error) {
    await state.close();
    throw error;
  }
}

async function serve(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  state: ServerState,
): Promise<HttpServerHandle> {
  const { http } = config;
  const auth = await authFor(http, state.store);
  // Check the Host policy before binding, so a refusal leaves no port open (the real port matters only for port 0).
  resolveAllowedHosts(http, http.port, auth !== undefined, logger);
  const target = await resolveTarget(config);
  try {
    return await listenAndServe(config, logger, metrics, state, auth, target);
  } catch (error) {
    await target.sandbox?.stop().catch(() => {});
    throw error;
  }
}

async function listenAndServe(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  state: ServerState,
  auth: ApiKeyAuthOptions | undefined,
  target: AirtableTarget,
): Promise<HttpServerHandle> {
  const { http } = config;
  // One client for every session: they share the token's rate limits and the schema cache.
  const client = clientFor(config, target, logger, {
    limiter: state.limiter,
    onEvent: (event) => metrics.observeAirtable(event),
  });
  const schemaCache = sharedSchemaCache(client, state);
  const sessionRecords = persistSessions(state, logger);
  const registry = new SessionRegistry({
    maxSessions: http.maxSessions,
    maxSessionsPerKey: http.maxSessionsPerKey,
    idleMs: http.sessionIdleMs,
    logger,
    onOpen: sessionRecords.onOpen,
    onClose: sessionRecords.onClose,
  });
  const inflight = { count: 0 };
  const health = new HealthMonitor({
    version: VERSION,
    components: [airtableCheck(client), ...state.components],
  });
  metrics.trackSessions(() => registry.counts());
  // Report Redis going away or coming back now, not at the next scheduled check.
  state.redis?.onStatusChange(() => void health.checkNow());

  const createMcpServer = (context: McpServerContext) =>
    createServer({
      client,
      schemaCache,
      defaultBase: target.defaultBase,
      readOnly: config.tools.readOnly,
      toolsets: config.tools.toolsets,
      maxResponseTokens: config.tools.maxResponseTokens,
      logger,
      onToolCall: usageRecorder(state, metrics, context),
    });

  const server = await listen(http.host, http.port, (port) =>
    createHttpApp({
      http,
      allowedHosts: resolveAllowedHosts(http, port, auth !== undefined, logger),
      auth,
      createMcpServer,
      eventStores: http.stateless || !http.streamResumeSeconds ? undefined : state.eventStores,
      registry,
      health,
      metrics,
      logger,
      inflight,
    }),
  );
  const { port } = server.address() as AddressInfo;
  registry.startSweeping();
  health.start();
  const host = http.host.includes(':') ? `[${http.host}]` : http.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}${http.basePath}`;
  logger.info(
    { url, stateless: http.stateless, auth: auth !== undefined, sandbox: target.sandbox?.url },
    'listening',
  );

  let closed: Promise<void> | undefined;
  const close = (graceMs = http.shutdownGraceMs) => {
    closed ??= shutdown({ server, registry, inflight, health, logger, graceMs })
      .then(() => sessionRecords.drain())
      .then(() => state.close())
      .finally(() => target.sandbox?.stop());
    return closed;
  };
  return { url, port, registry, metrics, health, store: state.store, close };
}

/** Bind first (the app needs the real port for its Host allow-list), then attach the app. */
async function listen(
  host: string,
  port: number,
  build: (port: number) => import('express').Express,
): Promise<Server> {
  const { createServer: createHttp } = await import('node:http');
  const server = createHttp();
  server.listen(port, host);
  await once(server, 'listening');
  try {
    server.on('request', build((server.address() as AddressInfo).port));
  } catch (error) {
    server.close();
    throw error;
  }
  return server;
}

interface ShutdownParts {
  server: Server;
  registry: SessionRegistry;
  inflight: { count: number };
  health: HealthMonitor;
  logger: Logger;
  graceMs: number;
}

async function shutdown({
  server,
  registry,
  inflight,
  health,
  logger,
  graceMs,
}: ShutdownParts): Promise<void> {
  health.setServing(false);
  health.stop();
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + graceMs;
  while (inflight.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const unfinished = inflight.count;
  if (unfinished) logger.warn({ unfinished }, 'shutdown grace period over; closing requests still running');
  await registry.closeAll('shutdown');
  server.closeAllConnections();
  await stopped;
}

export async function runHttp(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const handle = await startHttpServer(config, logger);
  process.stderr.write(
    `airtable-mcp-kit ${VERSION}: MCP over HTTP at ${handle.url}/mcp (legacy SSE at ${handle.url}/sse)\n`,
  );
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Requests get the grace period; closing sessions and connections a little more. A service that stopped
    // answering (a black-holed database or Redis) must not keep the process from exiting.
    setTimeout(() => {
      logger.warn('shutdown did not finish in time; exiting anyway');
      process.exit(0);
    }, config.http.shutdownGraceMs + 5_000).unref();
    void handle.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
