/**
 * The JSON Schema a tool's zod schema publishes (tools/list, the orchestrator's
 * declarations, OpenAPI): computed once per schema, and without what tells a
 * reader nothing. tools/list goes into every conversation's context, and the
 * SDK converts the zod schemas again on every tools/list request.
 *
 * Left out everywhere: `$schema`, integer bounds that only restate
 * Number.MAX_SAFE_INTEGER, `propertyNames: {type: "string"}` (JSON keys are
 * strings) and `additionalProperties: {}` (anything, the default).
 * Output schemas describe the shape only: no per-field prose (the tool's
 * description and its text result explain the values) and no
 * `additionalProperties: false` (a program reading a result ignores keys it
 * does not know anyway).
 */
import { z } from 'zod';

export type Json = { [key: string]: unknown };

/** Which side of the tool a schema describes: arguments (what a model writes) or the structured result. */
export type SchemaSide = 'input' | 'output';

/**
 * Makes `schema` publish its lean JSON Schema. zod's converter asks a schema's
 * `_zod.toJSONSchema` hook first (its documented way for a schema to supply its
 * own JSON Schema; the SDK and zod's own converter honour it); the hook
 * answers with a copy of the cached result, so callers may change what they get.
 */
export function publishLeanJsonSchema(schema: z.ZodObject, side: SchemaSide, precomputed?: Json): void {
  let cached: Json | undefined = precomputed;
  let converting = false;
  const lean = (): Json => {
    if (!cached) {
      converting = true;
      try {
        cached = convert(schema, side);
      } finally {
        converting = false;
      }
    }
    return cached;
  };
  published.set(schema, lean);
  schema._zod.toJSONSchema = () => {
    // While converting, zod calls the hook again for this very schema: fall through to its own conversion.
    if (converting) return undefined;
    // zod puts `$schema` on the root before copying this in; `undefined` takes it out again (JSON drops it).
    return { ...structuredClone(lean()), $schema: undefined };
  };
}

const published = new WeakMap<z.ZodObject, () => Json>();

/**
 * The lean JSON Schema a schema publishes (see publishLeanJsonSchema), computed on first use and
 * shared: for tools/list, which serializes it at once. Callers must not change it.
 */
export function publishedJsonSchema(schema: z.ZodObject, side: SchemaSide): Json {
  return published.get(schema)?.() ?? convert(schema, side);
}

/** zod's conversion made lean, ignoring any published hook (for checking precomputed schemas). */
export function convertToLeanJsonSchema(schema: z.ZodObject, side: SchemaSide): Json {
  return convert(z.object(schema.shape), side);
}

function convert(schema: z.ZodObject, side: SchemaSide): Json {
  return leanJsonSchema(
    z.toJSONSchema(schema, { io: side, unrepresentable: 'any', target: 'draft-07' }) as Json,
    side,
  );
}
/** A copy of a converted schema without the keywords listed above. */
export function leanJsonSchema(schema: Json, side: SchemaSide): Json {
  const { $schema: _dropped, ...rest } = schema;
  return leanNode(rest, side) as Json;
}

function leanNode(node: unknown, side: SchemaSide): unknown {
  if (Array.isArray(node)) return node.map((item) => leanNode(item, side));
  if (!node || typeof node !== 'object') return node;
  const source = node as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      // Property names are data, not keywords: recurse into each property's schema only.
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, leanNode(sub, side)]),
      );
      continue;
    }
    if (isNoise(key, value, source, side)) continue;
    out[key] = leanNode(value, side);
  }
  return out;
}

function isNoise(key: string, value: unknown, node: Json, side: SchemaSide): boolean {
  if (node.type === 'integer' && (key === 'minimum' || key === 'maximum')) {
    return Math.abs(value as number) === Number.MAX_SAFE_INTEGER;
  }
  if (key === 'propertyNames') return isPlainStringSchema(value);
  if (key === 'additionalProperties') {
    if (isEmptySchema(value)) return true;
    return side === 'output' && value === false;
  }
  return side === 'output' && key === 'description' && typeof value === 'string';
}

function isPlainStringSchema(value: unknown): boolean {
  return (
    !!value &&
    typeof value === 'object' &&
    Object.keys(value).length === 1 &&
    (value as Json).type === 'string'
  );
}

function isEmptySchema(value: unknown): boolean {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;
}
