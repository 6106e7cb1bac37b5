/**
 * Authentication for hosted mode as a chain of strategies: the server's own
 * API keys first, then the modules' (the platform's user tokens and
 * personal keys). Every request ends with one principal in
 * `res.locals.principal`; `res.locals.keyId` is its id (for session
 * ownership, per-key limits, logs and metrics) unless it is anonymous.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { HttpProblem } from '../../app/api.js';
import { AuthFailure, type AuthStrategy } from '../../app/auth.js';
import type { PrincipalResolver } from '../../app/http-api.js';
import { ANONYMOUS, type Principal, serverKeyPrincipal } from '../../app/principal.js';
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
const STORE_DOWN_MESSAGE = 'API keys cannot be checked: the database is unreachable; retry shortly';

/** The server's API keys (configured and stored) as the chain's first strategy. */
export function serverKeyStrategy(options: Pick<ApiKeyAuthOptions, 'keys' | 'verify'>): AuthStrategy {
  // Only digests stay in memory; comparing fixed-length digests also hides the candidate's length.
  const digests = options.keys.map(hashApiKey);
  return {
    name: 'server_key',
    async authenticate({ credential }) {
      if (credential === undefined) return undefined;
      if (matchesAny(digests, hashApiKey(credential))) return serverKeyPrincipal(keyId(credential));
      if (!options.verify) return undefined;
      let stored: string | undefined;
      try {
        stored = await options.verify(credential);
      } catch {
        throw new AuthFailure(STORE_DOWN_MESSAGE, 503);
      }
      return stored ? serverKeyPrincipal(stored) : undefined;
    },
  };
}

export interface AuthChainOptions {
  strategies: readonly AuthStrategy[];
  /**
   * No credential is needed (a loopback listener without keys, or --no-auth):
   * a request without one, or with one no strategy knows, is anonymous.
   */
  open: boolean;
  realm?: string;
}

/** A principal for every request, or an HttpProblem saying why not (401, 403, 503). */
export function principalResolver(options: AuthChainOptions): PrincipalResolver {
  const realm = (options.realm ?? 'airtable-mcp-kit').replace(/["\\]/g, '');
  const challenge = { 'WWW-Authenticate': `Bearer realm="${realm}"` };
  const refuse = (message: string) => new HttpProblem(401, 'Unauthorized', message, { headers: challenge });
  return async (req, res, mode) => {
    const credential = presentedKey(req);
    // Routes without authentication (sign-in, refresh, webhooks) ignore a stale credential instead of refusing it.
    const principal =
      credential === undefined
        ? undefined
        : await identify(options.strategies, credential, req).catch((error: unknown) => {
            if (mode === 'none' && error instanceof HttpProblem && error.status !== 503) return undefined;
            throw error;
          });
    const resolved =
      principal ?? (options.open || mode === 'none' ? unauthenticated(options.open) : undefined);
    if (!resolved) {
      if (mode === 'optional' && credential === undefined) return remember(res, GUEST);
      throw refuse(credential === undefined ? MISSING_MESSAGE : INVALID_MESSAGE);
    }
    return remember(res, resolved);
  };
}

/** Nobody signed in on a server that needs credentials: may only reach 'none' and 'optional' routes. */
const GUEST: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  scopes: [],
  bases: [],
}) as Principal;

function unauthenticated(open: boolean): Principal {
  return open ? ANONYMOUS : GUEST;
}

function remember(res: Response, principal: Principal): Principal {
  res.locals.principal = principal;
  if (principal.kind !== 'anonymous') res.locals.keyId = principal.id;
  return principal;
}

async function identify(
  strategies: readonly AuthStrategy[],
  credential: string,
  req: Request,
): Promise<Principal | undefined> {
  for (const strategy of strategies) {
    try {
      const principal = await strategy.authenticate({ credential, headers: req.headers, ip: req.ip ?? '' });
      if (principal) return principal;
    } catch (error) {
      if (!(error instanceof AuthFailure)) throw error;
      const headers: Record<string, string> = error.status === 503 ? { 'Retry-After': '5' } : {};
      const title =
        error.status === 401 ? 'Unauthorized' : error.status === 403 ? 'Forbidden' : 'Service Unavailable';
      throw new HttpProblem(error.status, title, error.message, { headers });
    }
  }
  return undefined;
}

/**
 * The MCP endpoints' authentication: a principal is required unless the
 * chain is open. Errors keep the `{ error: { code, message } }` shape MCP
 * clients of this server already read.
 */
export function mcpAuth(resolve: PrincipalResolver): RequestHandler {
  return async (req, res, next) => {
    try {
      await resolve(req, res, 'required');
      next();
    } catch (error) {
      if (!(error instanceof HttpProblem)) return next(error);
      const code = error.status === 503 ? 'unavailable' : error.status === 403 ? 'forbidden' : 'unauthorized';
      res
        .status(error.status)
        .set(error.extra.headers ?? {})
        .json({ error: { code, message: error.detail ?? error.title } });
    }
  };
}

/** Requires one of the server's API keys (the chain with only that strategy, closed). */
export function apiKeyAuth(options: ApiKeyAuthOptions): RequestHandler {
  if (options.keys.length === 0 && !options.verify)
    throw new Error('apiKeyAuth needs API keys or a key store');
  return mcpAuth(
    principalResolver({ strategies: [serverKeyStrategy(options)], open: false, realm: options.realm }),
  );
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
