/**
 * The request pipeline (reference §13.1): Host check (403 FORBIDDEN, against DNS rebinding) → control
 * routes (Origin check, optional control token, no CORS) → CORS preflight → body size (413) → route and
 * id shape (404) → auth (401) → fault injection → rate limits per token and base (429) → handler
 * (base/table resolution 403, validation 422, execution). Every answer is JSON; an unexpected exception
 * becomes a 500 and the server keeps serving.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiRequest, App } from './context.js';
import { handleControl, needsControlToken } from './control.js';
import { demoSeed, emptySeed } from './demo.js';
import {
  ApiError,
  apiError,
  authRequired,
  badGateway,
  notFound,
  rateLimited,
  retriable,
  serverError,
  tooLarge,
  unparsableBody,
} from './errors.js';
import { FaultInjector } from './faults.js';
import {
  CORS_HEADERS,
  hostHeaderName,
  isControlPath,
  isLoopbackName,
  isLoopbackOrigin,
  isWildcardAddress,
  normaliseHostName,
  pathSegments,
  readBody,
  sendJson,
  splitUrl,
} from './http.js';
import { IteratorStore } from './iterators.js';
import type { SeedBase } from './model.js';
import type { SandboxFaultOptions, SandboxOptions, SandboxStats } from './options.js';
import { RateLimiter } from './ratelimit.js';
import { matchRoute, type RouteMatch } from './router.js';
import { StatsCollector } from './stats.js';
import { Store } from './store.js';
import { MAX_UPLOAD_BYTES } from './upload.js';

export const DEFAULT_TOKEN = 'patSandbox.localdevtoken';
const DEFAULT_MAX_BODY = 2 * 1024 * 1024;
const DEFAULT_ITERATOR_TTL = 10 * 60 * 1000;
/** Base64 of a 5 MB file plus the JSON around it. */
const UPLOAD_BODY_LIMIT = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 64 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const forbidden = (message: string): ApiError => apiError(403, 'FORBIDDEN', message);

const controlAuthRequired = (): ApiError =>
  new ApiError(
    401,
    {
      error: {
        type: 'AUTHENTICATION_REQUIRED',
        message: 'Sandbox control routes need "Authorization: Bearer <controlToken>"',
      },
    },
    { 'www-authenticate': 'Bearer' },
  );

/** Constant-time string equality (hashing first makes the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export class SandboxServer implements App {
  readonly store: Store;
  readonly iterators: IteratorStore;
  readonly token: string;
  private readonly statsCollector = new StatsCollector();
  private readonly injector: FaultInjector;
  private readonly limiter: RateLimiter | undefined;
  private readonly maxBodyBytes: number;
  private readonly seed: () => SeedBase[];
  /** The normalised interface name the sandbox was bound to (default 127.0.0.1). */
  private readonly boundHost: string;
  private readonly controlToken: string | undefined;
  baseUrl = '';

  constructor(options: SandboxOptions) {
    this.seed = options.seed === 'empty' ? emptySeed : demoSeed;
    this.store = new Store(options.dataFile, this.seed);
    this.iterators = new IteratorStore(options.iteratorTtlMs ?? DEFAULT_ITERATOR_TTL);
    this.token = options.token ?? DEFAULT_TOKEN;
    this.injector = new FaultInjector(options.faults);
    this.limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {});
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.boundHost = normaliseHostName(options.host ?? '127.0.0.1');
    this.controlToken = options.controlToken;
  }

  url(): string {
    return this.baseUrl;
  }

  stats(): SandboxStats {
    return this.statsCollector.snapshot();
  }

  reset(): void {
    this.store.reset(this.seed());
    this.statsCollector.reset();
    this.injector.set(undefined);
    this.iterators.clear();
    this.limiter?.clear();
  }

  setFaults(faults: SandboxFaultOptions | undefined): void {
    this.injector.set(faults);
  }

  faults(): SandboxFaultOptions | undefined {
    return this.injector.current();
  }

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const { path, query } = splitUrl(req.url ?? '/');
    const control = isControlPath(path);
    const method = (req.method ?? 'GET').toUpperCase();
    const run = control
      ? this.processControl(req, res, method, path)
      : this.process(req, res, method, path, query);
    run.catch((err: unknown) => this.fail(res, err, !control));
  };

  private fail(res: ServerResponse, err: unknown, cors: boolean): void {
    const e = err instanceof ApiError ? err : serverError(err instanceof Error ? err.message : String(err));
    try {
      sendJson(res, e.status, e.body, e.headers, cors);
    } catch {
      res.destroy();
    }
  }

  /**
   * Against DNS rebinding: a page on an attacker's name that resolves to 127.0.0.1 sends its own name as
   * Host. Loopback names are always served; so is the name the sandbox was explicitly bound to, and any
   * name when bound to every interface (0.0.0.0 / ::). No Host at all (HTTP/1.0) is fine.
   */
  private hostAllowed(value: string | undefined): boolean {
    if (value === undefined || value.trim() === '') return true;
    const name = hostHeaderName(value);
    if (isLoopbackName(name) || isWildcardAddress(this.boundHost)) return true;
    return !isLoopbackName(this.boundHost) && name === this.boundHost;
  }

  private checkHost(req: IncomingMessage): void {
    if (!this.hostAllowed(req.headers.host))
      throw forbidden('Host not allowed: the sandbox only answers requests addressed to its own host name');
  }

  /**
   * `/_sandbox/*`: never CORS; refused when a browser says the request comes from a non-loopback page
   * (browsers always send Origin on cross-origin POSTs) and, with `controlToken`, without that bearer.
   */
  private async processControl(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
  ): Promise<void> {
    this.checkHost(req);
    const origin = req.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin))
      throw forbidden('Sandbox control routes do not accept cross-origin requests');
    if (method === 'OPTIONS') {
      res.writeHead(204, { allow: 'GET, POST, OPTIONS' });
      res.end();
      return;
    }
    if (this.controlToken !== undefined && needsControlToken(method, path)) {
      if (!this.bearerIs(req, this.controlToken)) throw controlAuthRequired();
    }
    const body = await readBody(req, this.maxBodyBytes);
    if (body.tooLarge) throw tooLarge(this.maxBodyBytes);
    handleControl(this, method, path, body.data, res);
  }

  private async process(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    this.checkHost(req);
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    const limit = path.endsWith('/uploadAttachment')
      ? Math.max(this.maxBodyBytes, UPLOAD_BODY_LIMIT)
      : this.maxBodyBytes;
    const body = await readBody(req, limit);
    this.statsCollector.request();
    if (body.tooLarge) throw tooLarge(limit);
    const segments = pathSegments(path);
    const match = segments && matchRoute(method, segments);
    if (!match) throw notFound();
    if (!this.authorized(req)) throw authRequired();
    if (match.baseId) this.statsCollector.baseRequest(match.baseId);
    if (await this.injectFault(path, req)) return;
    this.enforceRateLimit(match.baseId);
    sendJson(res, 200, match.handler(this.apiRequest(method, match, query, body.data), this));
  }

  private authorized(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m?.[1] === this.token;
  }

  private bearerIs(req: IncomingMessage, secret: string): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m?.[1] !== undefined && sameSecret(m[1], secret);
  }

  /** Applies latency and any injected outcome; true when the request was answered (or dropped) here. */
  private async injectFault(path: string, req: IncomingMessage): Promise<boolean> {
    const fault = this.injector.decide(path);
    if (!fault) return false;
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.step === 'ok') return false;
    this.statsCollector.faultInjected();
    if (fault.step === 'drop') {
      req.socket.destroy();
      return true;
    }
    const retryAfter = this.injector.retryAfterSeconds;
    const header: Record<string, string> =
      retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) };
    if (fault.step === 429) throw new ApiError(429, rateLimited().body, header);
    if (fault.step === 503) throw new ApiError(503, retriable().body, header);
    if (fault.step === 502) throw badGateway();
    throw apiError(500, 'SERVER_ERROR', 'Server error injected by the sandbox');
  }

  private enforceRateLimit(baseId: string | undefined): void {
    const decision = this.limiter?.check(this.token, baseId);
    if (!decision?.limited) return;
    this.statsCollector.rateLimited(baseId);
    throw rateLimited(decision.retryAfterSeconds);
  }

  private apiRequest(method: string, match: RouteMatch, query: URLSearchParams, data: Buffer): ApiRequest {
    let parsed: { value: unknown } | undefined;
    return {
      method,
      params: match.params,
      query,
      body: () => {
        if (!parsed) parsed = { value: parseJson(data) };
        return parsed.value;
      },
    };
  }
}

function parseJson(data: Buffer): unknown {
  const text = data.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw unparsableBody();
  }
}
