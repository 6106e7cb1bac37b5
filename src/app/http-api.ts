/**
 * The /api router every module's routes run on: per-route authentication
 * and scopes, JSON bodies validated by the route's zod schemas, answers as
 * JSON, errors as RFC 9457 application/problem+json, and the OpenAPI 3.1
 * document generated from the same schemas (GET /api/openapi.json, rendered
 * at /api/docs).
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import {
  type ApiRouteSpec,
  type FieldProblem,
  HttpProblem,
  problems,
  type RegisteredRoute,
  Reply,
} from './api.js';

export type { RegisteredRoute } from './api.js';

import { apiDocsRouter } from './api-docs.js';
import type { ModuleInstance } from './module.js';
import { buildOpenApi, type OpenApiInfo } from './openapi.js';
import { hasScope, type Principal } from './principal.js';

export interface ApiMount {
  path: string;
  handler: RequestHandler;
}

/** Every module's routes and mounts, in module order; two routes on one method and path are a startup error. */
export function collectRoutes(modules: ReadonlyMap<string, ModuleInstance>): {
  routes: RegisteredRoute[];
  mounts: ApiMount[];
} {
  const routes: RegisteredRoute[] = [];
  const mounts: ApiMount[] = [];
  const taken = new Set<string>();
  for (const [module, instance] of modules) {
    instance.routes?.({
      route(spec) {
        const key = `${spec.method} ${spec.path}`;
        if (taken.has(key)) throw new Error(`two modules declare ${key.toUpperCase()} /api${spec.path}`);
        taken.add(key);
        routes.push({ module, spec: spec as unknown as ApiRouteSpec });
      },
      mount(path, handler) {
        mounts.push({ path, handler });
      },
    });
  }
  return { routes, mounts };
}

/** Resolves the request's principal for a route's auth mode; throws an HttpProblem (401, 403, 503). */
export type PrincipalResolver = (
  req: Request,
  res: Response,
  mode: 'required' | 'optional' | 'none',
) => Promise<Principal>;

export interface ApiRouterOptions {
  routes: readonly RegisteredRoute[];
  resolve: PrincipalResolver;
  maxBodyBytes: number;
  logger: Logger;
  info: OpenApiInfo;
  /** Runs after authentication (per-key request limits). */
  afterAuth?: RequestHandler[];
}

/** The router to mount at `<basePath>/api`. */
export function createApiRouter(options: ApiRouterOptions): Router {
  const router = Router();
  let document: unknown;
  router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApi(options.routes, options.info);
    res.json(document);
  });
  router.use('/docs', apiDocsRouter());
  for (const route of options.routes) {
    const { spec } = route;
    router[spec.method](
      spec.path,
      authenticate(spec, options.resolve),
      ...(options.afterAuth ?? []),
      ...bodyParser(spec, options.maxBodyBytes),
      handle(spec),
    );
  }
  router.use((req, _res, next) =>
    next(problems.notFound(`No API endpoint ${req.method} ${req.baseUrl}${req.path}`)),
  );
  router.use(problemHandler(options.logger));
  return router;
}

function authenticate(spec: ApiRouteSpec, resolve: PrincipalResolver): RequestHandler {
  return async (req, res, next) => {
    try {
      const principal = await resolve(req, res, spec.auth ?? 'required');
      const missing = (spec.scopes ?? []).filter((scope) => !hasScope(principal, scope));
      if (missing.length) throw problems.forbidden(`This needs the ${missing.join(' and ')} scope`);
      res.locals.principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

function bodyParser(spec: ApiRouteSpec, serverLimit: number): RequestHandler[] {
  if (spec.rawBody || !spec.body) return [];
  return [express.json({ limit: spec.maxBodyBytes ?? serverLimit })];
}

function handle(spec: ApiRouteSpec): RequestHandler {
  return async (req, res, next) => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client went away'));
    });
    try {
      const input = {
        params: parse(spec.params, req.params, 'params'),
        query: parse(spec.query, req.query, 'query'),
        body: spec.body && !spec.rawBody ? parseBody(spec.body, req) : undefined,
      };
      const principal = res.locals.principal as Principal;
      const result = await spec.handler({
        ...input,
        principal,
        req,
        res,
        signal: controller.signal,
      } as never);
      send(res, spec, result);
    } catch (error) {
      next(error);
    }
  };
}

function parseBody(schema: z.ZodType, req: Request): unknown {
  if (req.body === undefined) {
    throw problems.badRequest('Send a JSON body with Content-Type: application/json');
  }
  return parse(schema, req.body, 'body');
}

function parse(schema: z.ZodType | undefined, value: unknown, where: 'params' | 'query' | 'body'): unknown {
  if (!schema) return where === 'body' ? undefined : value;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = fieldProblems(parsed.error, where);
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  throw problems.badRequest(`Invalid ${where === 'body' ? 'request body' : where}: ${summary}`, errors);
}

/** Body fields are named as sent (`email`); query and path fields carry their place (`query.limit`). */
export function fieldProblems(error: z.ZodError, where: 'params' | 'query' | 'body'): FieldProblem[] {
  return error.issues.slice(0, 20).map((issue) => {
    const path = issue.path.map(String);
    const field = where === 'body' ? path.join('.') || '(body)' : [where, ...path].join('.');
    return { field, message: issue.message };
  });
}

function send(res: Response, spec: ApiRouteSpec, result: unknown): void {
  if (res.headersSent || res.writableEnded) return;
  if (result instanceof Reply) {
    res.status(result.status).set(result.headers);
    if (result.body === undefined) return void res.end();
    return void res.json(result.body);
  }
  if (result === undefined) return void res.status(204).end();
  res.status(spec.successStatus ?? 200).json(result);
}

/** Writes a problem (RFC 9457): type, title, status, detail, and `errors` for field problems. */
export function sendProblem(res: Response, problem: HttpProblem): void {
  const body = {
    type: problem.extra.type ?? 'about:blank',
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
    ...problem.extra.members,
    ...(res.locals.requestId ? { request_id: res.locals.requestId } : {}),
  };
  res
    .status(problem.status)
    .set(problem.extra.headers ?? {})
    .type('application/problem+json')
    .send(JSON.stringify(body));
}

function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500 && !(error instanceof HttpProblem)) {
      logger.error({ err: error, requestId: res.locals.requestId }, 'api request failed');
    }
    if (res.headersSent) return void res.end();
    sendProblem(res, problem);
  };
}

/** Body-parser errors carry a status and a type; anything else unknown is a 500 without details. */
function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const status = (error as { status?: number }).status;
  const type = (error as { type?: string }).type;
  if (type === 'entity.too.large') return problems.payloadTooLarge('The request body is too large');
  if (type === 'entity.parse.failed') return problems.badRequest('The request body is not valid JSON');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, 'Bad Request', (error as Error).message);
  }
  return new HttpProblem(500, 'Internal Server Error', 'Internal server error');
}
