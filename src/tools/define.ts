/**
 * The one way to declare a tool. A tool states what it is (name, kind,
 * schemas) and how it runs; annotations, error results, progress and the
 * MCP result shape are derived here, never repeated per tool.
 */
import { z } from 'zod';
import { findIllFormedText } from '../airtable/text.js';
import type { ToolKind } from './annotations.js';
import type { ToolContext } from './context.js';
import { ToolInputError } from './errors.js';
import { type Json, publishLeanJsonSchema, type SchemaSide } from './json-schema.js';
import published from './published-schemas.json' with { type: 'json' };
import type { ToolsetName } from './toolsets.js';

export type { ToolKind };

export interface ToolResult<S> {
  /** Matches the tool's output schema; what programs read. */
  structured: S;
  /** A compact rendering for the model: no pretty-printed JSON. */
  text: string;
  /** Extra content blocks (e.g. a CSV resource) placed after the text. */
  attachments?: ResultAttachment[];
}

export type ResultAttachment =
  | { type: 'resource'; resource: { uri: string; mimeType: string; text: string } }
  | { type: 'resource_link'; uri: string; name: string; mimeType: string; description?: string };

export interface ToolSpec<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  /** A core toolset, or one a module declares in its `toolsets`. */
  toolset: ToolsetName | (string & {});
  kind: ToolKind;
  /** For write/destructive tools: repeating the same call has no further effect. Reads are always idempotent. */
  idempotent?: boolean;
  input: I;
  output: O;
  run(args: z.output<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.output<z.ZodObject<O>>>>;
}

/** A declared tool, with its schemas built once and shared by every server that registers it. */
export type DefinedTool<
  I extends z.ZodRawShape = z.ZodRawShape,
  O extends z.ZodRawShape = z.ZodRawShape,
> = ToolSpec<I, O> & {
  inputSchema: z.ZodObject<I>;
  outputSchema: z.ZodObject<O>;
};

/**
 * Declares a tool. Its zod objects are built once, on first use, and shared:
 * handing the SDK raw shapes would make it build them again for every server
 * (in HTTP mode every session has its own), and building them for tools a
 * server does not register would slow every start.
 */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
): DefinedTool<I, O> {
  let input: z.ZodObject<I> | undefined;
  let output: z.ZodObject<O> | undefined;
  return {
    ...spec,
    run(args, ctx) {
      rejectIllFormedText(args);
      return spec.run(args, ctx);
    },
    get inputSchema() {
      if (!input) {
        input = z.object(spec.input);
        publishLeanJsonSchema(input, 'input', publishedFor(spec.name, 'input', input));
      }
      return input;
    },
    get outputSchema() {
      if (!output) {
        output = z.object(withTruncatedFlag(spec.output));
        publishLeanJsonSchema(output, 'output', publishedFor(spec.name, 'output', output));
      }
      return output;
    },
  };
}

/**
 * A core tool's JSON Schema as computed at development time (`npm run schemas` writes
 * published-schemas.json; test/published-schemas.test.ts fails when it differs from zod's
 * conversion): converting every tool's schemas at start cost about 20 ms before the first
 * tools/list. Used only while its property names are the schema's, so a tool changed without
 * regenerating, or another tool of the same name, is converted as before.
 */
function publishedFor(name: string, side: SchemaSide, schema: z.ZodObject): Json | undefined {
  const entry = (published as Record<string, Partial<Record<SchemaSide, Json>>>)[name]?.[side];
  if (!entry) return undefined;
  const names = Object.keys((entry.properties as Json | undefined) ?? {});
  const declared = Object.keys(schema.shape);
  return names.length === declared.length && names.every((key, i) => key === declared[i]) ? entry : undefined;
}

/**
 * A lone surrogate ("Projects\ud800") in any argument is bad input, reported
 * as such for every tool, before anything is sent: it is not text, and in a
 * URL it would make encodeURIComponent throw.
 */
function rejectIllFormedText(args: unknown): void {
  const found = findIllFormedText(args);
  if (!found) return;
  throw new ToolInputError(
    `${found.path || 'An argument'} is not valid text: it holds a lone surrogate (half of a UTF-16 pair) at ` +
      `position ${found.at}. Send the text with that character removed or completed.`,
  );
}

/**
 * Every result may be cut to the response budget (see budget.ts), which then
 * sets `truncated: true`; tools that report truncation themselves keep their
 * own, required flag.
 */
function withTruncatedFlag<O extends z.ZodRawShape>(shape: O): O {
  if ('truncated' in shape) return shape;
  const flag = z
    .boolean()
    .optional()
    .describe('Present and true when the result was cut to fit the response size limit (see the text).');
  return { ...shape, truncated: flag };
}

export { annotationsFor, isWriteTool } from './annotations.js';
