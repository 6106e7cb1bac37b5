import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { hashApiKey, keyId } from '../../store/api-keys.js';

export interface ApiKeyAuthOptions {
  /** Keys from the environment or a keys file. */
  keys: readonly string[];
  /**
   * Keys kept in the store (created with `keys create`): the key's id when the
   * key is active. Rejects with StoreUnavailableError when the database is down.
   */
  verify?: (key: string) => Promise<string | undefined>;
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
  if (options.keys.length === 0 && !options.verify)
    throw new Error('apiKeyAuth needs API keys or a key store');
  // Only digests stay in memory; comparing fixed-length digests also hides the candidate's length.
  const digests = options.keys.map(hashApiKey);
  const challenge = `Bearer realm="${(options.realm ?? 'airtable-mcp-kit').replace(/["\\]/g, '')}"`;

  return async (req, res, next) => {
    const candidate = presentedKey(req);
    if (candidate === undefined) return unauthorized(res, challenge, MISSING_MESSAGE);
    if (matchesAny(digests, hashApiKey(candidate))) {
      res.locals.keyId = keyId(candidate);
      return next();
    }
    const stored = options.verify && (await verifyStored(options.verify, candidate, res));
    if (stored === null) return; // answered 503
    if (!stored) return unauthorized(res, challenge, INVALID_MESSAGE);
    res.locals.keyId = stored;
    next();
  };
}

/** The stored key's id, undefined when unknown, null when the store could not be asked (503 sent). */
async function verifyStored(
  verify: (key: string) => Promise<string | undefined>,
  key: string,
  res: Response,
): Promise<string | undefined | null> {
  try {
    return await verify(key);
  } catch {
    res
      .status(503)
      .set('Retry-After', '5')
      .json({
        error: {
          code: 'unavailable',
          message: 'API keys cannot be checked: the database is unreachable; retry shortly',
        },
      });
    return null;
  }
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
