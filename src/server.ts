/**
 * Builds an MCP server with the selected Airtable tools. Transports call
 * this (one server per session or per request); embedders call it too. The
 * server is the SDK's low-level Server (see tool-server.ts): connect it to
 * any MCP transport.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AirtableClient } from './airtable/index.js';
import type { Principal } from './app/principal.js';
import { type Logger, silentLogger } from './logger.js';
import { createToolServer } from './tool-server.js';
import { SchemaCache } from './tools/context.js';
import { type DefinedTool, isWriteTool } from './tools/define.js';
import { errorStructured } from './tools/errors.js';
import { CHARS_PER_TOKEN } from './tools/format.js';
import { ALL_TOOLS } from './tools/index.js';
import { type CoreToolRuntime, createToolRuntime, describeToolError } from './tools/runtime.js';
import { DEFAULT_TOOLSETS, type ToolsetName } from './tools/toolsets.js';

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

export function createServer(options: CreateServerOptions = {}): Server {
  return createToolServer({
    runtime: options.runtime ?? runtimeFor(options),
    principal: options.principal,
    currentPrincipal: options.currentPrincipal,
    sessionId: options.sessionId,
  });
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

/** Every failure becomes an isError result a model can act on; never a stack trace. */
export function toErrorResult(toolName: string, error: unknown, logger: Logger): CallToolResult {
  const structuredContent = errorStructured(error);
  return {
    content: [{ type: 'text', text: describeToolError(toolName, error, logger) }],
    isError: true,
    ...(structuredContent ? { structuredContent } : {}),
  };
}
