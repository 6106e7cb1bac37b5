/**
 * Request ids and one access-log line per HTTP request.
 *
 * The line carries only what is needed to trace a request: never headers or
 * bodies (they hold bearer tokens, API keys and Airtable data) and never the
 * query string (legacy SSE puts the session id there, which would let anyone
 * reading logs hijack the session).
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../logger.js';
import { KNOWN_ROUTES, onResponseEnd, pathOf, routeLabel, statusOf } from './metrics.js';

const VALID_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Client-supplied text is capped so a hostile request cannot bloat the log. */
const MAX_FIELD_LENGTH = 512;

/** A caller's id when it is safe to log and echo (no spaces, control characters or header injection). */
function validId(value: string | undefined): string | undefined {
  return value !== undefined && VALID_ID.test(value) ? value : undefined;
}

function clip(value: string | undefined): string | undefined {
  return value && value.length > MAX_FIELD_LENGTH ? value.slice(0, MAX_FIELD_LENGTH) : value;
}

/** X-Request-Id first, then X-Trace-ID; a fresh UUID when neither is acceptable. */
export function requestIdOf(req: Request): string {
  return validId(req.get('x-request-id')) ?? validId(req.get('x-trace-id')) ?? randomUUID();
}

/**
 * Sets `res.locals.requestId` (echoed in X-Request-Id, and in X-Trace-ID when
 * the caller sent one) and logs the request when it finishes — or when the
 * connection closes first, as SSE streams and aborted requests do.
 * Mount it first so every response carries the id. `knownRoutes`: as for Metrics.http().
 */
export function requestLog(
  logger: Logger,
  options: { knownRoutes?: readonly string[] } = {},
): RequestHandler {
  const known = options.knownRoutes ?? KNOWN_ROUTES;
  return (req, res, next) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    if (req.get('x-trace-id') !== undefined) res.setHeader('X-Trace-ID', requestId);
    onResponseEnd(res, (aborted) => {
      const status = statusOf(res, aborted);
      const line = {
        requestId,
        method: req.method,
        path: clip(pathOf(req)),
        route: routeLabel(req, res, known),
        status,
        durationMs: Math.round(performance.now() - started),
        keyId: typeof res.locals.keyId === 'string' ? res.locals.keyId : undefined,
        // Who: the principal's kind and, for people, their user id (never a credential).
        principal: (res.locals.principal as { kind?: string } | undefined)?.kind,
        userId: (res.locals.principal as { userId?: string } | undefined)?.userId,
        ip: req.ip,
        userAgent: clip(req.get('user-agent')),
        ...(aborted ? { aborted: true } : {}),
      };
      if (status >= 500) logger.warn(line, 'http request');
      else logger.info(line, 'http request');
    });
    next();
  };
}
