/**
 * The HTTP API conventions every module follows, set once: JSON under /api,
 * snake_case fields, zod-validated input, errors as RFC 9457
 * application/problem+json, and an OpenAPI 3.1 document generated from the
 * same schemas (GET /api/openapi.json, rendered at /api/docs).
 */
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { Principal, Scope } from './principal.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a handler receives: input already validated and typed by the route's schemas. */
export interface ApiRequest<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  /** The raw request and response, for streaming (SSE), downloads, cookies and multipart uploads. */
  req: Request;
  res: Response;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/**
 * A handler's answer. A plain value is sent as JSON with `successStatus`
 * (default 200). Return `reply(status, body, headers)` for another status,
 * or `undefined` after writing to `res` yourself (streams).
 */
export type ApiResult = unknown;

export interface ApiRouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** Under /api, Express syntax for parameters: '/sessions/:id/history' (OpenAPI shows '{id}'). */
  path: string;
  summary: string;
  /** OpenAPI tag; default the module's name. */
  tag?: string;
  description?: string;
  /**
   * 'required' (default): a principal from an auth strategy, else 401.
   * 'optional': anonymous when nothing is presented. 'none': no authentication (sign-in, webhooks).
   */
  auth?: 'required' | 'optional' | 'none';
  /** Every scope listed is needed (403 otherwise). */
  scopes?: readonly Scope[];
  params?: P;
  query?: Q;
  /** JSON body schema. Set `rawBody: true` instead to read the body yourself (multipart). */
  body?: B;
  rawBody?: boolean;
  /** Largest JSON body in bytes; default the server's MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** The success status and body schema (for OpenAPI). */
  successStatus?: number;
  response?: z.ZodType;
  /** Content types other than JSON this route may answer with (OpenAPI), e.g. 'text/event-stream'. */
  produces?: readonly string[];
  /** Error statuses this route documents, besides the common ones (400, 401, 403, 500). */
  errors?: readonly number[];
  handler(request: ApiRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<ApiResult> | ApiResult;
}

/** A route as the root keeps it: which module declared it. */
export interface RegisteredRoute {
  module: string;
  spec: ApiRouteSpec;
}

/** How a module adds routes; the root mounts them after authentication. */
export interface ApiRoutes {
  route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(spec: ApiRouteSpec<P, Q, B>): void;
  /**
   * A plain Express handler outside /api (e.g. the web console's static files at '/').
   * No authentication is applied: the handler is on its own.
   */
  mount(path: string, handler: RequestHandler): void;
}

/** A reply with a status other than the route's success status, or with headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export function reply(status: number, body?: unknown, headers?: Record<string, string>): Reply {
  return new Reply(status, body, headers);
}

/** One field problem inside a 400: where (a JSON pointer-ish dotted path) and what is wrong. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An error answered as application/problem+json (RFC 9457). Throw it from a
 * handler; anything else thrown becomes a 500 without details.
 */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: {
      /** A URI naming the problem type; default 'about:blank' semantics by status. */
      type?: string;
      errors?: readonly FieldProblem[];
      headers?: Record<string, string>;
      /** More members to put in the body (snake_case). */
      members?: Record<string, unknown>;
    } = {},
  ) {
    super(detail ?? title);
  }
}

export const problems = {
  badRequest: (detail: string, errors?: readonly FieldProblem[]) =>
    new HttpProblem(400, 'Bad Request', detail, { errors }),
  unauthorized: (detail = 'Sign in or send an API key') => new HttpProblem(401, 'Unauthorized', detail),
  forbidden: (detail: string) => new HttpProblem(403, 'Forbidden', detail),
  notFound: (detail: string) => new HttpProblem(404, 'Not Found', detail),
  conflict: (detail: string) => new HttpProblem(409, 'Conflict', detail),
  payloadTooLarge: (detail: string) => new HttpProblem(413, 'Payload Too Large', detail),
  tooManyRequests: (detail: string, retryAfterSeconds?: number) =>
    new HttpProblem(429, 'Too Many Requests', detail, {
      headers: retryAfterSeconds ? { 'Retry-After': String(Math.ceil(retryAfterSeconds)) } : {},
    }),
  unavailable: (detail: string, retryAfterSeconds?: number) =>
    new HttpProblem(503, 'Service Unavailable', detail, {
      headers: retryAfterSeconds ? { 'Retry-After': String(Math.ceil(retryAfterSeconds)) } : {},
    }),
};
