/**
 * Builds an MCP server with the selected Airtable tools. Transports call
 * this (one server per session or per request); embedders call it too.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { AirtableClient } from './airtable/index.js';
import { ANONYMOUS, type Principal } from './app/principal.js';
import type { ToolCallOptions, ToolCallOutcome } from './app/runtime.js';
import { type Logger, silentLogger } from './logger.js';
import { SchemaCache } from './tools/context.js';
import { annotationsFor, type DefinedTool, isWriteTool } from './tools/define.js';
import { errorStructured } from './tools/errors.js';
import { CHARS_PER_TOKEN } from './tools/format.js';
import { ALL_TOOLS } from './tools/index.js';
import { type CoreToolRuntime, createToolRuntime, describeToolError } from './tools/runtime.js';
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
  /** The hosted server's shared runtime (core and module tools); when given, the options above are not used. */
  runtime?: CoreToolRuntime;
  /** Who this server's calls run as; default anonymous (everything allowed). It decides the tools listed. */
  principal?: Principal;
  /** Who each call runs as, read at call time (an HTTP session's latest request); default `principal`. */
  currentPrincipal?: () => Principal;
  /** The MCP session id, for usage records. */
  sessionId?: () => string | undefined;
}

export interface ToolCallEvent {
  tool: string;
  /** invalid_input: the model sent something to fix; error: Airtable or the server failed. */
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied';
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
  const toolsets = new Set<string>(options.toolsets ?? DEFAULT_TOOLSETS);
  return ALL_TOOLS.filter((tool) => toolsets.has(tool.toolset) && !(options.readOnly && isWriteTool(tool)));
}

function buildClient(options: CreateServerOptions): AirtableClient {
  if (options.client) return options.client;
  if (!options.token) throw new Error('createServer needs either a client or a token');
  return new AirtableClient({ token: options.token, baseUrl: options.baseUrl });
}

export function createServer(options: CreateServerOptions = {}): McpServer {
  const runtime = options.runtime ?? runtimeFor(options);
  const principal = options.principal ?? ANONYMOUS;
  const server = new McpServer(
    { name: 'airtable-mcp-kit', title: 'Airtable', version: VERSION },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  for (const tool of runtime.list(principal)) registerTool(server, tool, runtime, principal, options);
  return server;
}

/** An embedder's server: its own runtime over the selected tools, reporting calls to onToolCall. */
function runtimeFor(options: CreateServerOptions): CoreToolRuntime {
  const client = buildClient(options);
  const onToolCall = options.onToolCall;
  return createToolRuntime({
    tools: selectTools(options),
    deps: {
      client,
      logger: options.logger ?? silentLogger(),
      schemas: options.schemaCache ?? new SchemaCache(client),
      defaultBase: options.defaultBase,
      maxResponseChars: (options.maxResponseTokens ?? 20_000) * CHARS_PER_TOKEN,
    },
    onCall: onToolCall
      ? (call) => onToolCall({ tool: call.tool, outcome: call.outcome, durationMs: call.durationMs })
      : undefined,
  });
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function registerTool(
  server: McpServer,
  tool: DefinedTool,
  runtime: CoreToolRuntime,
  principal: Principal,
  options: CreateServerOptions,
): void {
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
      const outcome = await runtime.callValidated(tool.name, args, {
        principal: options.currentPrincipal?.() ?? principal,
        source: 'mcp',
        signal: extra.signal,
        sessionId: options.sessionId?.(),
        progress: progressReporter(extra),
      });
      return toCallResult(outcome);
    }) as never,
  );
}

function progressReporter(extra: Extra): ToolCallOptions['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  return async (progress, total, message) => {
    await extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, total, message },
      })
      .catch(() => {});
  };
}

function toCallResult(outcome: ToolCallOutcome): CallToolResult {
  return {
    content: [{ type: 'text', text: outcome.text }, ...(outcome.attachments ?? [])],
    ...(outcome.isError ? { isError: true } : {}),
    ...(outcome.structured ? { structuredContent: outcome.structured } : {}),
  };
}

/** Every failure becomes an isError result a model can act on; never a stack trace. */
export function toErrorResult(toolName: string, error: unknown, logger: Logger): CallToolResult {
  const structuredContent = errorStructured(error);
  return {
    content: [{ type: 'text', text: describeToolError(toolName, error, logger) }],
    isError: true,
    ...(structuredContent ? { structuredContent } : {}),
  };
}
