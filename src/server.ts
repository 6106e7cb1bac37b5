/**
 * Builds an MCP server with the selected Airtable tools. Transports call
 * this (one server per session or per request); embedders call it too.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { AirtableClient, AirtableError } from './airtable/index.js';
import { type Logger, silentLogger } from './logger.js';
import { applyResponseBudget } from './tools/budget.js';
import { SchemaCache, type ToolContext } from './tools/context.js';
import { annotationsFor, type DefinedTool, isWriteTool, type ToolResult } from './tools/define.js';
import { errorStructured, ToolFailure, ToolInputError } from './tools/errors.js';
import { CHARS_PER_TOKEN } from './tools/format.js';
import { ALL_TOOLS } from './tools/index.js';
import { DEFAULT_TOOLSETS, type ToolsetName } from './tools/toolsets.js';
import { VERSION } from './version.js';

export interface CreateServerOptions {
  /** An Airtable client to use; otherwise one is built from `token` and `baseUrl`. */
  client?: AirtableClient;
  token?: string;
  /** Airtable API origin; default https://api.airtable.com. Point it at a sandbox for offline use. */
  baseUrl?: string;
  /** Base used when a tool call omits base_id. */
  defaultBase?: string;
  /** Register only tools that never write. */
  readOnly?: boolean;
  /** Toolsets to register; default records, schema, analysis. */
  toolsets?: readonly ToolsetName[];
  /** Budget for one tool result in tokens; default 20 000. */
  maxResponseTokens?: number;
  logger?: Logger;
  /** Share one schema cache between servers (e.g. HTTP sessions). */
  schemaCache?: SchemaCache;
  /** Called after every tool call (for metrics and usage records). */
  onToolCall?: (event: ToolCallEvent) => void;
}

export interface ToolCallEvent {
  tool: string;
  /** invalid_input: the model sent something to fix; error: Airtable or the server failed. */
  outcome: 'ok' | 'error' | 'invalid_input';
  durationMs: number;
}

const INSTRUCTIONS = [
  'Tools for reading and changing Airtable bases.',
  'Start with list_bases, then list_tables to learn table and field names; table_id accepts a table name or id.',
  'get_records returns one page at a time: pass the returned offset to continue. Ask only for the fields you need.',
  'Writes are validated by Airtable; on an error the message says what to fix.',
].join(' ');

/** The tools these options enable, in the fixed order tools/list reports them. */
export function selectTools(options: Pick<CreateServerOptions, 'readOnly' | 'toolsets'> = {}): DefinedTool[] {
  const toolsets = new Set(options.toolsets ?? DEFAULT_TOOLSETS);
  return ALL_TOOLS.filter((tool) => toolsets.has(tool.toolset) && !(options.readOnly && isWriteTool(tool)));
}

function buildClient(options: CreateServerOptions): AirtableClient {
  if (options.client) return options.client;
  if (!options.token) throw new Error('createServer needs either a client or a token');
  return new AirtableClient({ token: options.token, baseUrl: options.baseUrl });
}

export function createServer(options: CreateServerOptions = {}): McpServer {
  const client = buildClient(options);
  const logger = options.logger ?? silentLogger();
  const deps: ToolDeps = {
    client,
    logger,
    schemas: options.schemaCache ?? new SchemaCache(client),
    defaultBase: options.defaultBase,
    maxResponseChars: (options.maxResponseTokens ?? 20_000) * CHARS_PER_TOKEN,
    onToolCall: options.onToolCall ?? (() => {}),
  };
  const server = new McpServer(
    { name: 'airtable-mcp-kit', title: 'Airtable', version: VERSION },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  for (const tool of selectTools(options)) registerTool(server, tool, deps);
  return server;
}

type ToolDeps = Pick<ToolContext, 'client' | 'logger' | 'schemas' | 'defaultBase' | 'maxResponseChars'> & {
  onToolCall: (event: ToolCallEvent) => void;
};
type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function registerTool(server: McpServer, tool: DefinedTool, deps: ToolDeps): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: annotationsFor(tool),
    },
    (async (args: Record<string, unknown>, extra: Extra) => {
      const ctx: ToolContext = { ...deps, signal: extra.signal, progress: progressReporter(extra) };
      const started = performance.now();
      const finish = (outcome: ToolCallEvent['outcome']) => {
        const durationMs = performance.now() - started;
        deps.logger.debug({ tool: tool.name, outcome, ms: Math.round(durationMs) }, 'tool call');
        deps.onToolCall({ tool: tool.name, outcome, durationMs });
      };
      try {
        const result = await tool.run(args as never, ctx);
        finish('ok');
        return toCallResult(applyResponseBudget(result, deps.maxResponseChars));
      } catch (error) {
        finish(error instanceof ToolInputError ? 'invalid_input' : 'error');
        return toErrorResult(tool.name, error, deps.logger);
      }
    }) as never,
  );
}

function progressReporter(extra: Extra): ToolContext['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return async () => {};
  return async (progress, total, message) => {
    await extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, total, message },
      })
      .catch(() => {});
  };
}

function toCallResult(result: ToolResult<unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: result.text }, ...(result.attachments ?? [])],
    structuredContent: result.structured as Record<string, unknown>,
  };
}

/** Every failure becomes an isError result a model can act on; never a stack trace. */
export function toErrorResult(toolName: string, error: unknown, logger: Logger): CallToolResult {
  const structuredContent = errorStructured(error);
  const text = describeError(toolName, error, logger);
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(structuredContent ? { structuredContent } : {}),
  };
}

function describeError(toolName: string, error: unknown, logger: Logger): string {
  if (error instanceof ToolInputError || error instanceof ToolFailure) return error.message;
  if (error instanceof AirtableError) {
    const status = error.status ? `Airtable ${error.status} ${error.type}` : error.type;
    return `${error.message} (${status}). ${error.hint}`.trim();
  }
  logger.error({ tool: toolName, err: error }, 'tool failed unexpectedly');
  const message = error instanceof Error ? error.message : String(error);
  return `Internal error in ${toolName}: ${message}. This is a bug in airtable-mcp-kit, not in your input.`;
}
