/**
 * The OpenAPI 3.1 document of /api, generated from the routes' own zod
 * schemas (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so the
 * document cannot drift from what the server validates.
 */
import { z } from 'zod';
import type { RegisteredRoute } from './api.js';

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  /** Where the API lives, e.g. '/api' or '/airtable/api'. */
  serverUrl: string;
}

type Json = Record<string, unknown>;

const COMMON_ERRORS = [400, 401, 403, 500];

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (see `errors`)',
  401: 'Not signed in, or the credential is not valid',
  403: 'Signed in, but not allowed',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Understood but cannot be done',
  429: 'Too many requests or over budget (see Retry-After)',
  500: 'Server error',
  502: 'An upstream service failed',
  503: 'A dependency is unavailable; retry shortly',
};

const PROBLEM_SCHEMA: Json = {
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    request_id: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' } },
        required: ['field', 'message'],
      },
    },
  },
  required: ['title', 'status'],
};

export function buildOpenApi(routes: readonly RegisteredRoute[], info: OpenApiInfo): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const tags = new Set<string>();
  for (const { module, spec } of routes) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const tag = spec.tag ?? module;
    tags.add(tag);
    paths[path] ??= {};
    paths[path][spec.method] = operation({ module, spec }, tag);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      ...(info.description ? { description: info.description } : {}),
    },
    servers: [{ url: info.serverUrl }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An access token or an API key' },
        api_key: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}

function operation({ module, spec }: RegisteredRoute, tag: string): Json {
  const op: Json = {
    operationId: `${module}_${spec.method}_${spec.path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
    summary: spec.summary,
    tags: [tag],
  };
  if (spec.description) op.description = spec.description;
  const parameters = [...fieldsOf(spec.params, 'path'), ...fieldsOf(spec.query, 'query')];
  if (parameters.length) op.parameters = parameters;
  if (spec.body && !spec.rawBody) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: toSchema(spec.body, 'input') } },
    };
  }
  op.responses = responses(spec);
  if (spec.auth === 'none') op.security = [];
  else if (spec.auth === 'optional') op.security = [{}, { bearer: [] }, { api_key: [] }];
  else op.security = [{ bearer: [] }, { api_key: [] }];
  return op;
}

function responses(spec: RegisteredRoute['spec']): Json {
  const status = String(spec.successStatus ?? 200);
  const content: Json = {};
  if (spec.response) content['application/json'] = { schema: toSchema(spec.response, 'output') };
  for (const type of spec.produces ?? []) content[type] = { schema: { type: 'string' } };
  const out: Json = {
    [status]: { description: 'Success', ...(Object.keys(content).length ? { content } : {}) },
  };
  const errorStatuses = [...new Set([...COMMON_ERRORS, ...(spec.errors ?? [])])].sort((a, b) => a - b);
  if (spec.auth === 'none') errorStatuses.splice(errorStatuses.indexOf(401), 1);
  for (const code of errorStatuses) {
    out[String(code)] = {
      description: ERROR_TEXT[code] ?? 'Error',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return out;
}

/** Path and query parameters, one per property of the route's object schema. */
function fieldsOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  delete json.$schema;
  return refPropertiesAsPatterns(json) as Json;
}

/**
 * A property literally named `$ref` (a workflow template's `{"$ref": "steps.x"}`)
 * is valid JSON Schema, but OpenAPI tools take it for a reference. The same
 * rule as a pattern property means the same and reads unambiguously.
 */
function refPropertiesAsPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(refPropertiesAsPatterns);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = refPropertiesAsPatterns(value);
  const properties = out.properties as Record<string, unknown> | undefined;
  if (properties && typeof properties === 'object' && '$ref' in properties) {
    const { $ref, ...rest } = properties;
    out.properties = rest;
    out.patternProperties = { ...(out.patternProperties as object), '^\\$ref$': $ref };
  }
  return out;
}
