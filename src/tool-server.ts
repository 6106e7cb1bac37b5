/**
 * The MCP face of the tool runtime: the SDK's low-level Server with
 * tools/list and tools/call answered by the runtime. The runtime already
 * validates arguments, checks permissions, applies the response budget and
 * turns every failure into an isError result, so nothing is done twice per
 * call (the SDK's McpServer would parse the arguments again, asynchronously,
 * and the result against its output schema).
 *
 * The runtime may arrive later than the server: the stdio CLI answers
 * `initialize` (which needs only the name and capabilities) before the tools,
 * the Airtable client and the modules are loaded; requests for tools wait for
 * it. This file stays light for that reason: no tool code, only types.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ANONYMOUS, type Principal } from './app/principal.js';
import type { ToolCallOptions, ToolCallOutcome } from './app/runtime.js';
import { annotationsFor } from './tools/annotations.js';
import type { DefinedTool } from './tools/define.js';
import { publishedJsonSchema } from './tools/json-schema.js';
import type { CoreToolRuntime } from './tools/runtime.js';
import { VERSION } from './version.js';

export interface ToolServerOptions {
  /** The tools and how they run; a promise when the server answers `initialize` before they are loaded. */
  runtime: CoreToolRuntime | PromiseLike<CoreToolRuntime>;
  /** Who this server's calls run as; default anonymous (everything allowed). It decides the tools listed. */
  principal?: Principal;
  /** Who each call runs as, read at call time (an HTTP session's latest request); default `principal`. */
  currentPrincipal?: () => Principal;
  /** The MCP session id, for usage records. */
  sessionId?: () => string | undefined;
}

const INSTRUCTIONS = [
  'Tools for reading and changing Airtable bases.',
  'Start with list_bases, then list_tables to learn table and field names; table_id accepts a table name or id.',
  'get_records returns one page at a time: pass the returned offset to continue. Ask only for the fields you need.',
  'Writes are validated by Airtable; on an error the message says what to fix.',
].join(' ');

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export function createToolServer(options: ToolServerOptions): Server {
  const principal = options.principal ?? ANONYMOUS;
  const server = new Server(
    { name: 'airtable-mcp-kit', title: 'Airtable', version: VERSION },
    { capabilities: { tools: {}, logging: {} }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const runtime = await options.runtime;
    return { tools: runtime.list(principal).map(toolListing) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const runtime = await options.runtime;
    const outcome = await runtime.call(request.params.name, request.params.arguments ?? {}, {
      principal: options.currentPrincipal?.() ?? principal,
      source: 'mcp',
      signal: extra.signal,
      sessionId: options.sessionId?.(),
      progress: progressReporter(extra),
    });
    return toCallResult(outcome);
  });
  return server;
}

/** A tool as tools/list shows it; the JSON Schemas are computed once per tool and shared. */
function toolListing(tool: DefinedTool): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: publishedJsonSchema(tool.inputSchema, 'input') as Tool['inputSchema'],
    annotations: annotationsFor(tool),
    outputSchema: publishedJsonSchema(tool.outputSchema, 'output') as Tool['outputSchema'],
  };
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
