/**
 * One Express 5 app for hosted mode: Streamable HTTP and legacy SSE, health,
 * metrics, and the security in front of them. Middleware order matters:
 * every request is logged and counted, Host/Origin are checked before
 * anything answers, health stays open for orchestrators, and MCP requests
 * need an API key, stay under the rate limit and the body size limit.
 */
import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, Router } from 'express';
import { collectRoutes, createApiRouter, type PrincipalResolver } from '../../app/http-api.js';
import type { ModuleInstance } from '../../app/module.js';
import { hasScope, type Principal, type Scope } from '../../app/principal.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { VERSION } from '../../version.js';
import { mcpAuth } from './auth.js';
import { cors, hostAndOriginGuard } from './guard.js';
import type { HealthMonitor } from './health.js';
import { jsonBody, requestRateLimit, securityHeaders } from './limits.js';
import { type McpServerContext, mcpRoutes } from './mcp-routes.js';
import type { Metrics } from './metrics.js';
import { requestLog } from './request-log.js';
import type { SessionRegistry } from './sessions.js';

export interface HttpAppOptions {
  http: Config['http'];
  /** Hosts the Host header may name (already resolved from config and the bind address). */
  allowedHosts: readonly string[];
  /** Server API keys exist: requests need a credential (else a loopback or --no-auth server serves everyone). */
  authRequired: boolean;
  /** The auth chain: server keys, then the modules' strategies. */
  resolve: PrincipalResolver;
  /** Running modules: their /api routes and mounts. */
  modules: ReadonlyMap<string, ModuleInstance>;
  createMcpServer: (context: McpServerContext) => McpServer;
  eventStores?: { forSession(sessionId: string): EventStore };
  registry: SessionRegistry;
  health: HealthMonitor;
  metrics?: Metrics;
  logger: Logger;
  /** Requests being answered right now (shutdown waits for them). */
  inflight: { count: number };
}

/** Count POSTs (tool calls and other client messages) until their response ends. */
function countInflight(inflight: { count: number }): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    inflight.count++;
    res.once('close', () => inflight.count--);
    next();
  };
}

/** Express's "trust proxy" from its string form: booleans and hop counts become their types. */
export function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Failed requests (bad keys, unknown sessions) one address may make per minute. */
const FAILED_REQUESTS_PER_MINUTE = 100;

const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: 'No such endpoint' } });
};

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    logger.error({ err: error, requestId: res.locals.requestId }, 'request failed');
    if (res.headersSent) return void res.end();
    res.status(500).json({
      error: { code: 'internal', message: 'Internal server error', requestId: res.locals.requestId },
    });
  };
}

function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (principal && hasScope(principal, scope)) return next();
    res.status(403).json({ error: { code: 'forbidden', message: `This needs the ${scope} scope` } });
  };
}

export function createHttpApp(options: HttpAppOptions): Express {
  const { http, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting(http.trustProxy));

  const router = Router();
  router.use(requestLog(logger));
  if (options.metrics) router.use(options.metrics.http());
  router.use(securityHeaders());
  router.use(hostAndOriginGuard({ allowedHosts: options.allowedHosts, allowedOrigins: http.corsOrigins }));
  router.use(cors({ origins: http.corsOrigins }));

  const health = options.health.handler();
  router.get(['/health', '/health/', '/api/health'], health);
  if (options.metrics && http.metrics) {
    // Metrics name tools, keys and traffic: with API keys required they need a key (admin scope), or
    // METRICS_TOKEN for a scraper, unless METRICS_PUBLIC opens them.
    const guarded = options.authRequired && !http.metricsToken && !http.metricsPublic;
    const serve = options.metrics.handler({ token: http.metricsToken });
    router.get('/metrics', guarded ? [mcpAuth(options.resolve), requireScope('admin'), serve] : serve);
  }

  // Guessing keys costs a lookup each: limit failed requests per address before authentication.
  const failedRequestLimit =
    options.authRequired && http.rateLimitRpm
      ? [
          requestRateLimit({
            rpm: FAILED_REQUESTS_PER_MINUTE,
            failuresOnly: true,
            label: 'Too many failed requests',
          }),
        ]
      : [];
  const perKeyLimit = requestRateLimit({ rpm: http.rateLimitRpm });

  // Modules' routes: /api with per-route authentication, then plain mounts (the web console's files).
  const { routes, mounts } = collectRoutes(options.modules);
  router.use(
    '/api',
    ...failedRequestLimit,
    createApiRouter({
      routes,
      resolve: options.resolve,
      maxBodyBytes: http.maxBodyBytes,
      logger,
      info: { title: 'airtable-mcp-kit', version: VERSION, serverUrl: `${http.basePath}/api` },
      afterAuth: [perKeyLimit],
    }),
  );
  for (const mount of mounts) router.use(mount.path, mount.handler);

  if (failedRequestLimit.length) router.use(...failedRequestLimit);
  router.use(mcpAuth(options.resolve));
  router.use(perKeyLimit);
  router.use(countInflight(options.inflight));
  router.use(...jsonBody(http.maxBodyBytes));
  router.use(
    mcpRoutes({
      registry: options.registry,
      createMcpServer: options.createMcpServer,
      eventStores: options.eventStores,
      inflight: options.inflight,
      stateless: http.stateless,
      basePath: http.basePath,
      logger,
    }),
  );
  router.use(notFound);
  router.use(errorHandler(logger));

  app.use(http.basePath || '/', router);
  app.use(notFound);
  return app;
}
