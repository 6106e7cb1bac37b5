/**
 * Prometheus metrics for HTTP mode.
 *
 * Everything lives on a Registry owned by the Metrics instance, never on
 * prom-client's global one: the package is embeddable, and a host app (or a
 * second server in the same process) may have its own metrics with clashing
 * names.
 *
 * Label values are kept to bounded sets: HTTP requests are labelled by the
 * matched route pattern (never the raw URL, which carries ids), Airtable
 * events by status code only (their paths carry base and record ids).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientEvent } from '../../airtable/options.js';

export interface ToolCallEvent {
  tool: string;
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied';
  durationMs: number;
}

export interface SessionCounts {
  streamable: number;
  sse: number;
}

export interface MetricsOptions {
  /** Default true: process and Node.js metrics (unprefixed, as dashboards expect) on this registry. */
  collectDefault?: boolean;
}

/**
 * Paths that are their own label even when no route matched (e.g. a 401 from
 * auth middleware before routing). Fixed paths only: a label taken from the
 * raw URL must come from a closed set.
 */
export const KNOWN_ROUTES: readonly string[] = ['/mcp', '/sse', '/messages', '/health', '/metrics'];

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const PREFIX = 'airtable_mcp_';
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Up to Airtable's 30 s penalty after a 429 and beyond. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The request path without query string (the query may carry a session id). */
export function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The matched pattern; for a route with several paths, the one this request used when it is literal. */
function patternOf(req: Request, paths: unknown): string {
  if (!Array.isArray(paths)) return `${req.baseUrl}${String(paths)}`;
  const full = paths.map((p) => `${req.baseUrl}${String(p)}`);
  return full.find((p) => p === pathOf(req)) ?? full.join('|');
}

/**
 * A bounded label for the request's route: `res.locals.route` when the app
 * set one, else the matched route pattern (mount path + route path), else the
 * path when it is one of `knownRoutes`, else 'unmatched'.
 */
export function routeLabel(
  req: Request,
  res: Response,
  knownRoutes: readonly string[] = KNOWN_ROUTES,
): string {
  const explicit: unknown = res.locals.route;
  if (typeof explicit === 'string' && explicit) return explicit;
  const route = req.route as { path?: unknown } | undefined;
  if (route?.path !== undefined) return patternOf(req, route.path);
  const path = pathOf(req);
  return knownRoutes.includes(path) ? path : 'unmatched';
}

/**
 * Calls `done` once, when the response finished or the connection closed
 * first (SSE streams, clients that went away), with whether it was aborted.
 */
export function onResponseEnd(res: Response, done: (aborted: boolean) => void): void {
  let called = false;
  const once = (aborted: boolean) => {
    if (called) return;
    called = true;
    done(aborted);
  };
  res.once('finish', () => once(false));
  res.once('close', () => once(!res.writableFinished));
}

/** 499 (nginx's "client closed request") when the client left before any status was sent. */
export function statusOf(res: Response, aborted: boolean): number {
  return aborted && !res.headersSent ? 499 : res.statusCode;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of the bearer token (hashing first evens out lengths). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  return timingSafeEqual(sha256(match[1]!.trim()), sha256(token));
}

export class Metrics {
  readonly registry: Registry;
  readonly #httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly #httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly #toolCalls: Counter<'tool' | 'outcome'>;
  readonly #toolDuration: Histogram<'tool'>;
  readonly #airtableResponses: Counter<'status'>;
  readonly #airtableRateLimited: Counter;
  readonly #airtableDuration: Histogram<'method'>;
  readonly #limiterWait: Histogram;
  #readSessions: (() => SessionCounts) | undefined;

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.collectDefault ?? true) collectDefaultMetrics({ register: this.registry });
    this.#httpRequests = new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests served, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP request duration (for SSE streams: how long the stream stayed open).',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#toolCalls = new Counter({
      name: `${PREFIX}tool_calls_total`,
      help: 'MCP tool calls, by tool and outcome.',
      labelNames: ['tool', 'outcome'],
      registers,
    });
    this.#toolDuration = new Histogram({
      name: `${PREFIX}tool_call_duration_seconds`,
      help: 'MCP tool call duration, by tool.',
      labelNames: ['tool'],
      buckets: TOOL_BUCKETS,
      registers,
    });
    this.#airtableResponses = new Counter({
      name: `${PREFIX}airtable_responses_total`,
      help: "Airtable API attempts by HTTP status ('network' when the attempt got no response).",
      labelNames: ['status'],
      registers,
    });
    this.#airtableRateLimited = new Counter({
      name: `${PREFIX}airtable_rate_limited_total`,
      help: 'Airtable 429 responses.',
      registers,
    });
    this.#airtableDuration = new Histogram({
      name: `${PREFIX}airtable_request_duration_seconds`,
      help: 'Airtable API attempt duration until the response arrived, by HTTP method.',
      labelNames: ['method'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#limiterWait = new Histogram({
      name: `${PREFIX}airtable_limiter_wait_seconds`,
      help: 'Time each Airtable attempt spent waiting on the rate limiter before being sent.',
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.#sessionGauge(registers);
  }

  /** The gauge reads the session counts on scrape, so it can never drift from the session map. */
  #sessionGauge(registers: Registry[]): void {
    const read = () => this.#readSessions?.();
    new Gauge({
      name: `${PREFIX}open_sessions`,
      help: 'Open MCP sessions, by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        const counts = read();
        if (!counts) return;
        this.set({ transport: 'streamable' }, counts.streamable);
        this.set({ transport: 'sse' }, counts.sse);
      },
    });
  }

  /**
   * Express middleware counting requests and observing their duration; mount it before the routes.
   * `knownRoutes` replaces KNOWN_ROUTES (e.g. when MCP lives under a base path).
   */
  http(options: { knownRoutes?: readonly string[] } = {}): RequestHandler {
    const known = options.knownRoutes ?? KNOWN_ROUTES;
    return (req, res, next) => {
      const started = performance.now();
      onResponseEnd(res, (aborted) => {
        const labels = {
          method: METHODS.has(req.method) ? req.method : 'OTHER',
          route: routeLabel(req, res, known),
          status: String(statusOf(res, aborted)),
        };
        this.#httpRequests.inc(labels);
        this.#httpDuration.observe(labels, (performance.now() - started) / 1000);
      });
      next();
    };
  }

  observeToolCall(e: ToolCallEvent): void {
    this.#toolCalls.inc({ tool: e.tool, outcome: e.outcome });
    this.#toolDuration.observe({ tool: e.tool }, e.durationMs / 1000);
  }

  /** Pass as (or call from) the Airtable client's `onEvent`. */
  observeAirtable(e: ClientEvent): void {
    if (e.type === 'request' && e.waitMs !== undefined) this.#limiterWait.observe(e.waitMs / 1000);
    if (e.type === 'response' && e.status !== undefined) {
      this.#airtableResponses.inc({ status: String(e.status) });
      if (e.status === 429) this.#airtableRateLimited.inc();
      if (e.durationMs !== undefined)
        this.#airtableDuration.observe({ method: e.method }, e.durationMs / 1000);
    }
    // A retry without a status followed an attempt that got no response (network error, timeout);
    // retries after a status were already counted by their 'response' event.
    if (e.type === 'retry' && e.status === undefined) this.#airtableResponses.inc({ status: 'network' });
  }

  /** `read` is called on every scrape; a later call replaces an earlier reader. */
  trackSessions(read: () => SessionCounts): void {
    this.#readSessions = read;
  }

  /** GET handler serving the registry in Prometheus text format; with `token`, bearer-protected. */
  handler(options: { token?: string } = {}): RequestHandler {
    const { token } = options;
    return async (req, res) => {
      if (token && !bearerMatches(req.get('authorization'), token)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' });
        return;
      }
      const text = await this.registry.metrics();
      res
        .status(200)
        .set('Content-Type', this.registry.contentType)
        .set('Cache-Control', 'no-store')
        .send(text);
    };
  }
}
