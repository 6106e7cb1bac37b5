import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { hashApiKey, keyId } from './keys.js';

export interface ApiKeyAuthOptions {
  keys: readonly string[];
  /** Realm in the `WWW-Authenticate` challenge; default 'airtable-mcp-kit'. */
  realm?: string;
}

const MISSING_MESSAGE = 'Missing API key: send X-API-Key or Authorization: Bearer';
const INVALID_MESSAGE = 'Invalid API key';

/**
 * Requires a configured API key in `X-API-Key` or `Authorization: Bearer`. On success sets
 * `res.locals.keyId` (a non-secret label) for rate limiting, logs and metrics.
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): RequestHandler {
  if (options.keys.length === 0) throw new Error('apiKeyAuth needs at least one API key');
  // Only digests stay in memory; comparing fixed-length digests also hides the candidate's length.
  const digests = options.keys.map(hashApiKey);
  const challenge = `Bearer realm="${(options.realm ?? 'airtable-mcp-kit').replace(/["\\]/g, '')}"`;

  return (req, res, next) => {
    const candidate = presentedKey(req);
    if (candidate === undefined) return unauthorized(res, challenge, MISSING_MESSAGE);
    if (!matchesAny(digests, hashApiKey(candidate))) return unauthorized(res, challenge, INVALID_MESSAGE);
    res.locals.keyId = keyId(candidate);
    next();
  };
}

function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key')?.trim();
  if (header) return header;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  return bearer?.[1];
}

/** Visits every key without an early exit so the response time does not reveal which (or whether one) matched. */
function matchesAny(digests: readonly Buffer[], candidate: Buffer): boolean {
  let matched = 0;
  for (const digest of digests) matched |= Number(timingSafeEqual(digest, candidate));
  return matched === 1;
}

function unauthorized(res: Response, challenge: string, message: string): void {
  res
    .status(401)
    .set('WWW-Authenticate', challenge)
    .json({ error: { code: 'unauthorized', message } });
}
