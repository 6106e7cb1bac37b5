/**
 * A small stand-in for the composition root's /api router, following the
 * conventions src/app/api.ts states (zod-validated input with 400
 * problem+json field errors, scopes → 403, HttpProblem → its status,
 * Reply, handlers that stream by writing to res), so the orchestrator's
 * routes can be tested over real HTTP before the root is wired. The
 * principal comes from a test header: this is for tests only.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { z } from 'zod';
import { type ApiRouteSpec, type ApiRoutes, HttpProblem, Reply } from '../../src/app/api.js';
import { hasScope, type Principal } from '../../src/app/principal.js';

export interface TestApi {
  url: string;
  close(): Promise<void>;
}

export const PRINCIPAL_HEADER = 'x-test-principal';

export function principalHeader(principal: Principal): Record<string, string> {
  return { [PRINCIPAL_HEADER]: JSON.stringify(principal) };
}

export async function startTestApi(register: (api: ApiRoutes) => void): Promise<TestApi> {
  const app = express();
  app.use(express.json({ limit: '4mb' }));
  const router = express.Router();
  const api: ApiRoutes = {
    route(spec) {
      router[spec.method](spec.path, (req, res) => {
        void serve(spec as ApiRouteSpec, req, res);
      });
    },
    mount(path, handler) {
      app.use(path, handler);
    },
  };
  register(api);
  app.use('/api', router);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(spec: ApiRouteSpec, req: express.Request, res: express.Response): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  try {
    const principal = principalOf(req, spec);
    for (const scope of spec.scopes ?? []) {
      if (!hasScope(principal, scope))
        throw new HttpProblem(403, 'Forbidden', `This needs the ${scope} scope.`);
    }
    const params = parse(spec.params, req.params, 'params');
    const query = parse(spec.query, req.query, 'query');
    const body = parse(spec.body, req.body ?? {}, 'body');
    const value = await spec.handler({
      principal,
      params,
      query,
      body,
      req,
      res,
      signal: controller.signal,
    } as never);
    if (value === undefined) return;
    if (value instanceof Reply) {
      res.status(value.status).set(value.headers).json(value.body);
      return;
    }
    res.status(spec.successStatus ?? 200).json(value);
  } catch (error) {
    if (res.headersSent) {
      res.end();
      return;
    }
    const problem =
      error instanceof HttpProblem
        ? error
        : new HttpProblem(500, 'Internal Server Error', 'Something went wrong.');
    res
      .status(problem.status)
      .set({ 'content-type': 'application/problem+json', ...(problem.extra.headers ?? {}) })
      .send(
        JSON.stringify({
          type: problem.extra.type ?? 'about:blank',
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
          ...(problem.extra.members ?? {}),
        }),
      );
  }
}

function principalOf(req: express.Request, spec: ApiRouteSpec): Principal {
  const header = req.headers[PRINCIPAL_HEADER];
  if (typeof header === 'string') return JSON.parse(header) as Principal;
  if (spec.auth === 'optional' || spec.auth === 'none')
    return { kind: 'anonymous', id: 'anonymous', scopes: [], bases: '*' };
  throw new HttpProblem(401, 'Unauthorized', 'Sign in or send an API key');
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HttpProblem(400, 'Bad Request', `Invalid ${where}`, {
    errors: result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
  });
}
