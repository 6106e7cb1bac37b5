import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';

interface BodyParserError extends Error {
  type?: string;
}

/**
 * JSON body parsing with a size limit, as `[parser, errorHandler]`. Mount both in one call so the error handler
 * sees the parser's errors and nothing else: `app.post('/mcp', jsonBody(limit), handler)` or
 * `app.use('/messages', ...jsonBody(limit))`. Errors other than "too large" / "bad JSON" pass on unchanged.
 */
export function jsonBody(limitBytes: number): [RequestHandler, ErrorRequestHandler] {
  const parser = express.json({ limit: limitBytes });
  const onError: ErrorRequestHandler = (error: BodyParserError, _req, res, next) => {
    if (error.type === 'entity.too.large') {
      res.status(413).json({
        error: { code: 'payload_too_large', message: `Request body exceeds ${limitBytes} bytes` },
      });
      return;
    }
    if (error.type === 'entity.parse.failed') {
      // Bodies are JSON-RPC, so answer the way a JSON-RPC peer expects a parse failure (-32700, id null).
      res.status(400).json({
        jsonrpc: '2.0',
        error: { code: -32700, message: `Parse error: ${error.message}` },
        id: null,
      });
      return;
    }
    next(error);
  };
  return [parser, onError];
}

export interface RequestRateLimitOptions {
  /** Count only responses with status 400 or above (e.g. a per-IP limit on failed authentication in front of auth). */
  failuresOnly?: boolean;
  /** Prefix of the 429 message; default "Too many requests". */
  label?: string;
  /** Requests per minute per API key (or per client IP when unauthenticated); 0 disables the limit. */
  rpm: number;
  /** Shared store (e.g. rate-limit-redis) for several replicas; default: in-process memory. */
  store?: Store;
}

/** Per-key (`res.locals.keyId`, so mount after auth) or per-IP fixed-window request limit. */
export function requestRateLimit(options: RequestRateLimitOptions): RequestHandler {
  const { rpm } = options;
  if (!Number.isInteger(rpm) || rpm < 0)
    throw new RangeError(`rpm must be a non-negative integer, got ${rpm}`);
  if (rpm === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: rpm,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skipSuccessfulRequests: options.failuresOnly ?? false,
    ...(options.store ? { store: options.store } : {}),
    // Prefixes keep a key id from ever colliding with an IP bucket.
    keyGenerator: (req, res) => {
      const id = res.locals.keyId;
      return typeof id === 'string' ? `key:${id}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    handler: (_req, res) => {
      res.status(429).json({
        error: {
          code: 'rate_limited',
          message: `${options.label ?? 'Too many requests'}: limit is ${rpm} per minute`,
          retryAfterSeconds: Number(res.getHeader('Retry-After')) || 60,
        },
      });
    },
  });
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Headers for a JSON/SSE API that is never meant to render in a browser. Responses default to
 * `Cache-Control: no-store`, decided when headers are written, because only then is the content type known:
 * SSE streams and handlers that set their own Cache-Control keep theirs.
 */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.removeHeader('X-Powered-By');
    res.set(SECURITY_HEADERS);
    defaultNoStore(res);
    next();
  };
}

type HeaderArg = Record<string, unknown> | unknown[];

function defaultNoStore(res: Response): void {
  const writeHead = res.writeHead as (...args: unknown[]) => Response;
  // res.end()/write() without writeHead go through _implicitHeader → writeHead, so this sees every response.
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const headers = args.find((arg): arg is HeaderArg => typeof arg === 'object' && arg !== null);
    const contentType = String(headerIn(headers, 'content-type') ?? this.getHeader('content-type') ?? '');
    const cacheControlSet =
      this.hasHeader('cache-control') || headerIn(headers, 'cache-control') !== undefined;
    if (!cacheControlSet && !contentType.toLowerCase().startsWith('text/event-stream')) {
      this.setHeader('Cache-Control', 'no-store');
    }
    return writeHead.apply(this, args);
  } as Response['writeHead'];
}

/** Reads a header from writeHead's headers argument: an object or a flat [name, value, …] array. */
function headerIn(headers: HeaderArg | undefined, name: string): unknown {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return headers[i + 1];
    }
    return undefined;
  }
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers?.[key];
}
