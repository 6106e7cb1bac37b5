/**
 * Hosted mode: the MCP tools over Streamable HTTP and legacy SSE.
 * `startHttpServer` is the library/test entry; `runHttp` adds signals and
 * graceful shutdown for the CLI.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModuleDefinition } from '../../app/module.js';
import { MODULES, moduleMigrations } from '../../app/modules.js';
import { isLoopbackAddress } from '../../app/network.js';
import type { AppConfig } from '../../app/options.js';
import { type App, buildApp } from '../../app/root.js';
import { type Config, ConfigError } from '../../config.js';
import { createLogger, type Logger } from '../../logger.js';
import { createServer } from '../../server.js';
import { loadApiKeys } from '../../store/api-keys.js';
import type { Store } from '../../store/types.js';
import { VERSION } from '../../version.js';
import { createHttpApp } from './app.js';
import { type ApiKeyAuthOptions, principalResolver, serverKeyStrategy } from './auth.js';
import { loopbackHosts } from './guard.js';
import { airtableCheck, HealthMonitor } from './health.js';
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
  /** The running parts (tool runtime, modules, usage) the root built. */
  app: App;
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
 * keys created in the store (`keys create`); undefined when there are none
 * (requiresCredentials decides whether the server may still start).
 */
async function serverKeys(http: Config['http'], store: Store): Promise<ApiKeyAuthOptions | undefined> {
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
  return undefined;
}

/**
 * Whether every request needs a credential: with server keys, or with a
 * module that signs people in (the platform) on a non-loopback interface.
 * Otherwise only a loopback listener may serve everyone, or an explicit --no-auth.
 */
function requiresCredentials(
  http: Config['http'],
  keys: ApiKeyAuthOptions | undefined,
  signIn: boolean,
): boolean {
  if (keys) return true;
  if (http.noAuth || isLoopbackAddress(http.host)) return false;
  if (signIn) return true;
  throw new ConfigError(
    `refusing to listen on ${http.host} without an API key: set API_KEY / API_KEYS / API_KEYS_FILE (create one with "airtable-mcp-kit keys create --name NAME" or "keys generate"), run the platform module so people sign in, or pass --no-auth to serve without authentication`,
  );
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

export interface StartHttpOptions {
  logger?: Logger;
  /** The modules that may run (default: every module the package ships); MODULES/--modules picks among them. */
  modules?: readonly ModuleDefinition[];
}

export async function startHttpServer(
  config: AppConfig,
  options: Logger | StartHttpOptions = {},
): Promise<HttpServerHandle> {
  // An older signature took the logger as the second argument.
  const { logger = createLogger(config.logLevel), modules = MODULES } =
    'info' in options && typeof options.info === 'function'
      ? { logger: options as Logger }
      : (options as StartHttpOptions);
  const metrics = new Metrics();
  const state = await openServerState(config, logger, metrics, moduleMigrations(modules));
  try {
    return await serve(config, logger, metrics, state, modules);
  } catch (error) {
    await state.close();
    throw error;
  }
}

async function serve(
  config: AppConfig,
  logger: Logger,
  metrics: Metrics,
  state: ServerState,
  modules: readonly ModuleDefinition[],
): Promise<HttpServerHandle> {
  const { http } = config;
  const keys = await serverKeys(http, state.store);
  const app = await buildApp(config, 'http', {
    logger,
    modules,
    state,
    metrics: metrics.registry,
    onToolCall: (call) => metrics.observeToolCall(call),
    onAirtableEvent: (event) => metrics.observeAirtable(event),
  });
  try {
    const authOn = requiresCredentials(http, keys, app.authStrategies.length > 0);
    // Check the Host policy before binding, so a refusal leaves no port open (the real port matters only for port 0).
    resolveAllowedHosts(http, http.port, authOn, logger);
    return await listenAndServe(config, logger, metrics, state, keys, authOn, app);
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function listenAndServe(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  state: ServerState,
  keys: ApiKeyAuthOptions | undefined,
  authOn: boolean,
  app: App,
): Promise<HttpServerHandle> {
  const { http } = config;
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
    components: [airtableCheck(app.client), ...state.components, ...app.health],
  });
  metrics.trackSessions(() => registry.counts());
  // Report Redis going away or coming back now, not at the next scheduled check.
  state.redis?.onStatusChange(() => void health.checkNow());

  const strategies = [...(keys ? [serverKeyStrategy(keys)] : []), ...app.authStrategies];
  // Without credentials required, a loopback listener (or --no-auth) serves everyone; module strategies still identify users.
  const resolve = principalResolver({ strategies, open: !authOn });
  const createMcpServer = (context: McpServerContext) =>
    createServer({
      runtime: app.tools,
      principal: context.principal,
      currentPrincipal: context.currentPrincipal,
      sessionId: context.sessionId,
    });

  const server = await listen(http.host, http.port, (port) =>
    createHttpApp({
      http,
      allowedHosts: resolveAllowedHosts(http, port, authOn, logger),
      authRequired: authOn,
      resolve,
      modules: app.modules,
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
  if (authOn && !keys) {
    logger.info(
      'no server API key: every request needs a user access token or personal key; create the first admin with "airtable-mcp-kit users create --email EMAIL --admin"',
    );
  }
  const host = http.host.includes(':') ? `[${http.host}]` : http.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}${http.basePath}`;
  logger.info(
    {
      url,
      stateless: http.stateless,
      auth: authOn,
      sandbox: app.target.sandbox?.url,
      modules: [...app.modules.keys()],
    },
    'listening',
  );

  let closed: Promise<void> | undefined;
  const close = (graceMs = http.shutdownGraceMs) => {
    closed ??= shutdown({ server, registry, inflight, health, logger, graceMs })
      .then(() => sessionRecords.drain())
      .then(() => app.close())
      .then(() => state.close());
    return closed;
  };
  return { url, port, registry, metrics, health, store: state.store, app, close };
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

export async function runHttp(config: AppConfig): Promise<void> {
  const logger = createLogger(config.logLevel);
  const handle = await startHttpServer(config, { logger });
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
