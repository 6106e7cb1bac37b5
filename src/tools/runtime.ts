/**
 * The tool runtime: one way to run a tool, whoever calls it (an MCP
 * session, /api/execute-tool, the orchestrator's loop, a workflow step).
 * Input validation, permissions (scopes and bases), the response budget,
 * error texts, Airtable request counts and the call's record are decided
 * here once, so they cannot differ between ways in.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { z } from 'zod';
import { AirtableError } from '../airtable/index.js';
import { canWrite, hasScope, type Principal } from '../app/principal.js';
import type { ToolCallOptions, ToolCallOutcome, ToolRuntime } from '../app/runtime.js';
import type { Logger } from '../logger.js';
import { applyResponseBudget } from './budget.js';
import type { ToolContext } from './context.js';
import { type DefinedTool, isWriteTool } from './define.js';
import { errorStructured, ToolDeniedError, ToolFailure, ToolInputError } from './errors.js';

/** A finished call, for metrics and usage records. */
export interface ToolCallRecord {
  tool: string;
  outcome: ToolCallOutcome['outcome'];
  durationMs: number;
  airtableRequests: number;
  principal: Principal;
  source: ToolCallOptions['source'];
  sessionId?: string;
}

export interface ToolRuntimeOptions {
  /** Every tool the server offers, in tools/list order (already filtered by toolsets and read-only mode). */
  tools: readonly DefinedTool[];
  deps: Pick<ToolContext, 'client' | 'schemas' | 'defaultBase' | 'maxResponseChars' | 'logger'>;
  /** Counts the Airtable requests of the call running in this async context (see airtableRequestCounter). */
  requests?: AirtableRequestCounter;
  onCall?: (record: ToolCallRecord) => void;
}

/** Per-call Airtable request counts: the client reports each request; the call in whose async context it runs counts it. */
export class AirtableRequestCounter {
  readonly #storage = new AsyncLocalStorage<{ count: number }>();

  /** For the client's onEvent: counts a 'request' event for the call it belongs to. */
  observe(event: { type: string }): void {
    if (event.type !== 'request') return;
    const current = this.#storage.getStore();
    if (current) current.count++;
  }

  async measure<T>(work: () => Promise<T>): Promise<{ value: T; count: number }> {
    const counter = { count: 0 };
    try {
      const value = await this.#storage.run(counter, work);
      return { value, count: counter.count };
    } catch (error) {
      throw Object.assign(new CountedError(error), { count: counter.count });
    }
  }
}

class CountedError extends Error {
  count = 0;
  constructor(readonly original: unknown) {
    super('counted');
  }
}

/** The tools a principal may see: none without tools:read, no writing tools without tools:write. */
export function visibleTools(tools: readonly DefinedTool[], principal: Principal): DefinedTool[] {
  if (!hasScope(principal, 'tools:read')) return [];
  return canWrite(principal) ? [...tools] : tools.filter((tool) => !isWriteTool(tool));
}

/** The runtime plus what only the composition root uses. */
export interface CoreToolRuntime extends ToolRuntime {
  /** Adds a module's tool (after the core's, in the order added); a name already taken is a startup error. */
  add(tool: DefinedTool): void;
}

export function createToolRuntime(options: ToolRuntimeOptions): CoreToolRuntime {
  const tools = [...options.tools];
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const requests = options.requests ?? new AirtableRequestCounter();
  const { logger } = options.deps;

  async function run(name: string, args: unknown, call: ToolCallOptions): Promise<ToolCallOutcome> {
    const started = performance.now();
    const tool = byName.get(name);
    let outcome: ToolCallOutcome;
    let count = 0;
    try {
      const denied = tool ? deniedReason(tool, call.principal) : undefined;
      if (!tool) throw new ToolInputError(unknownToolMessage(name, [...byName.keys()]));
      if (denied) throw new ToolDeniedError(denied);
      const parsed = parseArgs(tool, args);
      const ctx: ToolContext = {
        ...options.deps,
        principal: call.principal,
        signal: call.signal ?? new AbortController().signal,
        progress: call.progress ?? (async () => {}),
      };
      const measured = await requests.measure(() => tool.run(parsed as never, ctx));
      count = measured.count;
      const result = applyResponseBudget(measured.value, options.deps.maxResponseChars);
      outcome = {
        text: result.text,
        structured: result.structured as Record<string, unknown>,
        attachments: result.attachments,
        isError: false,
        outcome: 'ok',
        durationMs: 0,
        airtableRequests: count,
      };
    } catch (thrown) {
      const error = thrown instanceof CountedError ? thrown.original : thrown;
      if (thrown instanceof CountedError) count = thrown.count;
      outcome = errorOutcome(name, error, logger, count);
    }
    outcome.durationMs = performance.now() - started;
    logger.debug({ tool: name, outcome: outcome.outcome, ms: Math.round(outcome.durationMs) }, 'tool call');
    options.onCall?.({
      tool: name,
      outcome: outcome.outcome,
      durationMs: outcome.durationMs,
      airtableRequests: count,
      principal: call.principal,
      source: call.source,
      sessionId: call.sessionId,
    });
    return outcome;
  }

  return {
    list: (principal) => visibleTools(tools, principal),
    add(tool) {
      if (byName.has(tool.name)) throw new Error(`two tools are named ${tool.name}`);
      tools.push(tool);
      byName.set(tool.name, tool);
    },
    get: (name) => byName.get(name),
    call: run,
  };
}

function deniedReason(tool: DefinedTool, principal: Principal): string | undefined {
  if (!hasScope(principal, 'tools:read'))
    return `This credential may not use tools (it lacks the tools:read scope).`;
  if (isWriteTool(tool) && !canWrite(principal)) {
    return `${tool.name} changes data, and this credential is read-only (it lacks the tools:write scope). Use a read tool, or ask for a key with tools:write.`;
  }
  return undefined;
}

function unknownToolMessage(name: string, known: readonly string[]): string {
  return `Unknown tool "${name}". Available tools: ${known.join(', ')}.`;
}

/** Every caller's arguments (MCP, /api, the orchestrator, workflows) are checked here, once. */
function parseArgs(tool: DefinedTool, args: unknown): unknown {
  const parsed = tool.inputSchema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  throw new ToolInputError(`Invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}`);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function errorOutcome(name: string, error: unknown, logger: Logger, count: number): ToolCallOutcome {
  const structured = errorStructured(error);
  return {
    text: describeToolError(name, error, logger),
    ...(structured ? { structured } : {}),
    isError: true,
    outcome:
      error instanceof ToolDeniedError
        ? 'denied'
        : error instanceof ToolInputError
          ? 'invalid_input'
          : 'error',
    durationMs: 0,
    airtableRequests: count,
  };
}

/** Every failure becomes a text a model can act on; never a stack trace. */
export function describeToolError(toolName: string, error: unknown, logger: Logger): string {
  if (error instanceof ToolInputError || error instanceof ToolFailure || error instanceof ToolDeniedError) {
    return error.message;
  }
  if (error instanceof AirtableError) {
    const status = error.status ? `Airtable ${error.status} ${error.type}` : error.type;
    return `${error.message} (${status}). ${error.hint}`.trim();
  }
  logger.error({ tool: toolName, err: error }, 'tool failed unexpectedly');
  const message = error instanceof Error ? error.message : String(error);
  return `Internal error in ${toolName}: ${message}. This is a bug in airtable-mcp-kit, not in your input.`;
}
