/**
 * Tool declarations for Gemini, built from the same tool registry the MCP
 * server uses. Gemini accepts only part of JSON Schema: `$schema` is a 400
 * ("Unknown name \"$schema\""), so are `propertyNames` and
 * `exclusiveMinimum`. The sanitiser keeps a known-good subset and rewrites
 * what it can (exclusive bounds, `const`, nullable type lists).
 */
import { z } from 'zod';
import type { DefinedTool } from '../tools/define.js';

export interface FunctionDeclaration {
  name: string;
  description: string;
  parametersJsonSchema: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** Keywords Gemini takes in a function's parameter schema. Everything else is dropped. */
const KEPT = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'items',
  'minItems',
  'maxItems',
  'properties',
  'required',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'anyOf',
  'default',
  'propertyOrdering',
  'additionalProperties',
]);

export function declarationFor(tool: DefinedTool): FunctionDeclaration {
  const schema = z.toJSONSchema(tool.inputSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  return {
    name: tool.name,
    description: tool.description,
    parametersJsonSchema: sanitizeSchema(schema),
  };
}

export function declarationsFor(tools: readonly DefinedTool[]): FunctionDeclaration[] {
  return tools.map(declarationFor);
}

/** A copy of `schema` with only keywords Gemini accepts. */
export function sanitizeSchema(schema: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, isObject(sub) ? sanitizeSchema(sub) : {}]),
      );
    } else if (key === 'items' && isObject(value)) {
      out.items = sanitizeSchema(value);
    } else if (key === 'anyOf' || key === 'oneOf') {
      mergeUnion(out, value);
    } else if (key === 'additionalProperties') {
      // `false` is the default reading for Gemini; a schema describes record values (field maps).
      if (isObject(value)) out.additionalProperties = sanitizeSchema(value);
    } else if (key === 'exclusiveMinimum' && typeof value === 'number') {
      out.minimum = schema.type === 'integer' ? Math.floor(value) + 1 : value;
    } else if (key === 'exclusiveMaximum' && typeof value === 'number') {
      out.maximum = schema.type === 'integer' ? Math.ceil(value) - 1 : value;
    } else if (key === 'const') {
      out.enum = [value];
    } else if (key === 'type' && Array.isArray(value)) {
      setTypeList(out, value);
    } else if (key === 'enum' && Array.isArray(value)) {
      out.enum = value.filter((item) => item !== null);
    } else if (KEPT.has(key)) {
      out[key] = value;
    }
  }
  return out;
}

/** anyOf/oneOf → anyOf of sanitised members; `X | null` becomes X with nullable. */
function mergeUnion(out: Json, value: unknown): void {
  if (!Array.isArray(value)) return;
  const members = value.filter(isObject);
  const nonNull = members.filter((member) => member.type !== 'null');
  if (nonNull.length < members.length) out.nullable = true;
  if (nonNull.length === 1) Object.assign(out, sanitizeSchema(nonNull[0]!));
  else if (nonNull.length > 1) out.anyOf = nonNull.map(sanitizeSchema);
}

function setTypeList(out: Json, types: unknown[]): void {
  const real = types.filter((type) => type !== 'null');
  if (real.length < types.length) out.nullable = true;
  if (real.length === 1) out.type = real[0];
  else if (real.length > 1) out.anyOf = real.map((type) => ({ type }));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
