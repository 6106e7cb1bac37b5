/**
 * The request pipeline (reference §13.1): CORS preflight → control routes → body size (413) → route and
 * id shape (404) → auth (401) → fault injection → rate limits per token and base (429) → handler
 * (base/table resolution 403, validation 422, execution). Every answer is JSON; an unexpected exception
 * becomes a 500 and the server keeps serving.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiRequest, App } from './context.js';
import { handleControl } from './control.js';
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
import { CORS_HEADERS, pathSegments, readBody, sendJson, splitUrl } from './http.js';
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

export class SandboxServer implements App {
  readonly store: Store;
  readonly iterators: IteratorStore;
  readonly token: string;
  private readonly statsCollector = new StatsCollector();
  private readonly injector: FaultInjector;
  private readonly limiter: RateLimiter | undefined;
  private readonly maxBodyBytes: number;
  private readonly seed: () => SeedBase[];
  baseUrl = '';

  constructor(options: SandboxOptions) {
    this.seed = options.seed === 'empty' ? emptySeed : demoSeed;
    this.store = new Store(options.dataFile, this.seed);
    this.iterators = new IteratorStore(options.iteratorTtlMs ?? DEFAULT_ITERATOR_TTL);
    this.token = options.token ?? DEFAULT_TOKEN;
    this.injector = new FaultInjector(options.faults);
    this.limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {});
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
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
    this.process(req, res).catch((err: unknown) => this.fail(res, err));
  };

  private fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : serverError(err instanceof Error ? err.message : String(err));
    try {
      sendJson(res, e.status, e.body, e.headers);
    } catch {
      res.destroy();
    }
  }

  private async process(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    const { path, query } = splitUrl(req.url ?? '/');
    const limit = path.endsWith('/uploadAttachment')
      ? Math.max(this.maxBodyBytes, UPLOAD_BODY_LIMIT)
      : this.maxBodyBytes;
    const body = await readBody(req, limit);
    if (path.startsWith('/_sandbox/')) {
      if (body.tooLarge) throw tooLarge(limit);
      handleControl(this, method, path, body.data, res);
      return;
    }
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
