/**
 * The one way to declare a tool. A tool states what it is (name, kind,
 * schemas) and how it runs; annotations, error results, progress and the
 * MCP result shape are derived here, never repeated per tool.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { findIllFormedText } from '../airtable/text.js';
import type { ToolContext } from './context.js';
import { ToolInputError } from './errors.js';
import { publishLeanJsonSchema } from './json-schema.js';
import type { ToolsetName } from './toolsets.js';

/** read: never changes data. write: adds or changes data. destructive: may remove or overwrite data. */
export type ToolKind = 'read' | 'write' | 'destructive';

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
        publishLeanJsonSchema(input, 'input');
      }
      return input;
    },
    get outputSchema() {
      if (!output) {
        output = z.object(withTruncatedFlag(spec.output));
        publishLeanJsonSchema(output, 'output');
      }
      return output;
    },
  };
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

/**
 * The hints are set explicitly on every tool: clients use them for confirmation prompts. The title
 * is not repeated here: tools/list carries it as the tool's own `title`, which clients show first.
 */
export function annotationsFor(spec: Pick<ToolSpec, 'kind' | 'idempotent'>): ToolAnnotations {
  const readOnly = spec.kind === 'read';
  return {
    readOnlyHint: readOnly,
    destructiveHint: spec.kind === 'destructive',
    idempotentHint: readOnly || spec.idempotent === true,
    // Every tool talks to Airtable, an external system whose contents change.
    openWorldHint: true,
  };
}

export function isWriteTool(spec: Pick<ToolSpec, 'kind'>): boolean {
  return spec.kind !== 'read';
}
