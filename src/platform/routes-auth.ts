/**
 * Sign-in routes under /api/auth, with the original platform service's
 * paths and fields. The web console gets its refresh token as an HttpOnly
 * cookie instead of in the body: only on requests that carry `X-Console: 1`
 * (a custom header a cross-site page cannot send without a CORS preflight,
 * which this server refuses), and with SameSite=Strict on top.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ApiRoutes } from '../app/api.js';
import { problems, reply } from '../app/api.js';
import type { Accounts, TokenResponse as Tokens } from './accounts.js';
import type { Counters } from './counters.js';
import { registrationClosed, signedInUserOf, userOf } from './guards.js';
import {
  LoginBody,
  PasswordBody,
  ProfileBody,
  RefreshBody,
  RegisterBody,
  TokenResponse,
  User,
} from './schemas.js';
import { ACCESS_TOKEN_SECONDS } from './tokens.js';
import { publicUser } from './users.js';

export const REFRESH_COOKIE = 'amk_refresh';
/** Accounts one address may register per hour, so open registration cannot be flooded. */
const REGISTRATIONS_PER_HOUR = 20;

export interface AuthRouteDeps {
  accounts: Accounts;
  counters: Counters;
  registration: () => 'open' | 'closed';
  basePath: string;
  refreshTokenDays: number;
}

export function registerAuthRoutes(api: ApiRoutes, deps: AuthRouteDeps): void {
  const { accounts } = deps;
  const cookies = consoleCookies(deps);

  api.route({
    method: 'get',
    path: '/auth/config',
    summary: 'How to sign in here: whether anyone may register',
    auth: 'none',
    response: z.object({ registration: z.enum(['open', 'closed']), access_token_seconds: z.number().int() }),
    handler: () => ({ registration: deps.registration(), access_token_seconds: ACCESS_TOKEN_SECONDS }),
  });

  api.route({
    method: 'post',
    path: '/auth/register',
    summary: 'Create an account (when registration is open) and sign in',
    auth: 'none',
    body: RegisterBody,
    successStatus: 201,
    response: TokenResponse,
    errors: [409, 429],
    handler: async ({ body, req, res }) => {
      if (deps.registration() === 'closed') throw registrationClosed();
      const hits = await deps.counters.hit(`register:ip:${req.ip}`, 'fixed', 3_600_000);
      if (hits.count > REGISTRATIONS_PER_HOUR) {
        throw problems.tooManyRequests('Too many accounts created from this address; try again later', 3600);
      }
      return reply(201, cookies.answer(req, res, await accounts.register(body)));
    },
  });

  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Sign in with email and password',
    auth: 'none',
    body: LoginBody,
    response: TokenResponse,
    errors: [429],
    handler: async ({ body, req, res }) =>
      cookies.answer(req, res, await accounts.login(body.email, body.password, req.ip ?? 'unknown')),
  });

  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary: 'Trade a refresh token for a new pair (the old one stops working)',
    auth: 'none',
    body: RefreshBody,
    response: TokenResponse,
    handler: async ({ body, req, res }) => {
      const token = body.refresh_token ?? cookies.read(req);
      if (!token) throw problems.unauthorized('Send refresh_token (or sign in again)');
      try {
        return cookies.answer(req, res, await accounts.refresh(token));
      } catch (error) {
        if (!body.refresh_token) cookies.clear(req, res);
        throw error;
      }
    },
  });

  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'End this sign-in (its refresh tokens stop working)',
    auth: 'none',
    body: RefreshBody,
    successStatus: 204,
    handler: async ({ body, req, res }) => {
      const token = body.refresh_token ?? cookies.read(req);
      if (token) await accounts.logout(token);
      cookies.clear(req, res);
      return reply(204);
    },
  });

  api.route({
    method: 'post',
    path: '/auth/logout-all',
    summary: 'End every sign-in of this account, and every access token already issued',
    successStatus: 204,
    handler: async ({ principal, req, res }) => {
      await accounts.logoutAll(signedInUserOf(principal));
      cookies.clear(req, res);
      return reply(204);
    },
  });

  api.route({
    method: 'get',
    path: '/auth/verify',
    summary: 'Check a credential: who it belongs to',
    handler: async ({ principal }) => ({
      valid: true,
      user: publicUser(await accounts.requireUser(userOf(principal))),
    }),
  });

  api.route({
    method: 'get',
    path: '/auth/profile',
    summary: 'Your profile',
    response: User,
    handler: async ({ principal }) => publicUser(await accounts.requireUser(userOf(principal))),
  });

  api.route({
    method: 'patch',
    path: '/auth/profile',
    summary: 'Change your name',
    body: ProfileBody,
    response: User,
    handler: ({ principal, body }) => accounts.updateProfile(signedInUserOf(principal), body),
  });

  api.route({
    method: 'post',
    path: '/auth/password',
    summary: 'Change your password: every other sign-in ends; you get a fresh pair',
    body: PasswordBody,
    response: TokenResponse,
    handler: async ({ principal, body, req, res }) =>
      cookies.answer(
        req,
        res,
        await accounts.changePassword(signedInUserOf(principal), body.current_password, body.new_password),
      ),
  });
}

/** The console's refresh cookie: set, read and cleared only for requests marked `X-Console: 1`. */
function consoleCookies(deps: AuthRouteDeps) {
  const path = `${deps.basePath}/api/auth`;
  const fromConsole = (req: Request) => req.get('x-console') === '1';
  const options = (req: Request) => ({
    httpOnly: true,
    secure: req.secure,
    sameSite: 'strict' as const,
    path,
  });
  return {
    answer(req: Request, res: Response, tokens: Tokens): Tokens | Omit<Tokens, 'refresh_token'> {
      if (!fromConsole(req)) return tokens;
      res.cookie(REFRESH_COOKIE, tokens.refresh_token, {
        ...options(req),
        maxAge: deps.refreshTokenDays * 86_400_000,
      });
      const { refresh_token: _kept, ...rest } = tokens;
      return rest;
    },
    read(req: Request): string | undefined {
      if (!fromConsole(req)) return undefined;
      return readCookie(req.headers.cookie, REFRESH_COOKIE);
    },
    clear(req: Request, res: Response): void {
      if (fromConsole(req)) res.clearCookie(REFRESH_COOKIE, options(req));
    },
  };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined; // a mangled cookie is no cookie
    }
  }
  return undefined;
}
