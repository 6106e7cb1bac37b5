/**
 * The tool runtime: every tool (core and modules), callable in-process with
 * a principal's permissions. MCP servers, /api/execute-tool, the
 * orchestrator's tool loop and workflow steps all run tools through it, so
 * scopes, base permissions, the response budget, error texts and usage
 * records are the same whichever way a call comes in.
 */
import type { DefinedTool, ResultAttachment } from '../tools/define.js';
import type { Principal } from './principal.js';

export type CallSource = 'mcp' | 'api' | 'chat' | 'workflow';

export interface ToolCallOptions {
  principal: Principal;
  source: CallSource;
  signal?: AbortSignal;
  /** The MCP, chat or workflow-run session the call belongs to (usage records carry it). */
  sessionId?: string;
  /** Progress reports, when the caller wants them. */
  progress?: (done: number, total?: number, message?: string) => Promise<void>;
}

export interface ToolCallOutcome {
  /** The text a model reads (compact; an error's text tells the model what to fix). */
  text: string;
  /** Matches the tool's output schema; on errors only what some tools add (a batch's per-record outcomes). */
  structured?: Record<string, unknown>;
  /** Extra content blocks after the text (e.g. a CSV resource). */
  attachments?: readonly ResultAttachment[];
  isError: boolean;
  /** invalid_input: the caller must fix its arguments; denied: the principal may not do this. */
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied';
  durationMs: number;
  /** Airtable requests the call sent. */
  airtableRequests: number;
}

export interface ToolRuntime {
  /** The tools this principal may see, in tools/list order (read-only principals see no writing tools). */
  list(principal: Principal): readonly DefinedTool[];
  /** A tool by name if the server has it, whatever the principal. */
  get(name: string): DefinedTool | undefined;
  /** Run a tool. Never throws for tool failures: they come back as `isError` outcomes. */
  call(name: string, args: unknown, options: ToolCallOptions): Promise<ToolCallOutcome>;
}
