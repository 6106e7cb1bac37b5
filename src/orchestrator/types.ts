/**
 * Shapes the orchestrator hands out: chat results (the JSON body of
 * POST /api/chat, snake_case like the original system) and the events a
 * turn emits while it runs (SSE, the terminal, the library's iterator).
 */
import type { AppliedThinking, ThinkingLevel } from './models.js';

export interface ToolCallSummary {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  ok: boolean;
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied' | 'rejected' | 'skipped';
  duration_ms: number;
}

export interface PendingCall {
  call_id: string;
  tool: string;
  arguments: Record<string, unknown>;
  kind: 'write' | 'destructive';
  /** What it will change, in one line. */
  summary: string;
}

export interface UsageSummary {
  input_tokens: number;
  output_tokens: number;
  thinking_tokens: number;
  cached_tokens: number;
  tool_use_tokens: number;
  total_tokens: number;
  /** Model calls in this turn so far. */
  hops: number;
}

export interface CostSummary {
  total_usd: number;
  input_usd: number;
  output_usd: number;
  thinking_usd: number;
  currency: 'USD';
  /** Always true: prices are a configurable table, not Google's bill. */
  estimate: true;
  /** False when the model has no price in the table (set GEMINI_PRICING). */
  priced: boolean;
}

export interface BudgetState {
  scope: 'user' | 'session';
  subject_id: string;
  limit_usd: number;
  period: 'session' | 'daily' | 'weekly' | 'monthly';
  alert_threshold: number;
  spent_usd: number;
  remaining_usd: number;
  resets_at: string | null;
}

export interface ChatResult {
  session_id: string;
  turn_id: string;
  response: string;
  status: 'done' | 'approval_required';
  pending?: PendingCall[];
  tools_used: string[];
  tool_calls: ToolCallSummary[];
  usage: UsageSummary;
  cost: CostSummary;
  model: string;
  thinking: { thinking_level?: ThinkingLevel; thinking_budget?: number } | null;
  finish_reason: string | null;
  warnings: string[];
  /** Older messages left out of what the model saw (the history budget, CHAT_CONTEXT_TOKENS). */
  trimmed_messages: number;
  budgets: BudgetState[];
  timestamp: string;
}

export type ChatEvent =
  | { type: 'session'; session_id: string; turn_id: string; model: string }
  | { type: 'text'; text: string }
  | { type: 'tool_call'; id: string; name: string; arguments: Record<string, unknown> }
  | {
      type: 'tool_result';
      id: string;
      name: string;
      ok: boolean;
      outcome: ToolCallSummary['outcome'];
      duration_ms: number;
      /** The start of what the tool answered (the model gets all of it). */
      preview: string;
    }
  | { type: 'approval_required'; pending: PendingCall[] }
  | { type: 'usage'; hop: number; usage: UsageSummary; cost: CostSummary }
  | { type: 'warning'; message: string }
  | { type: 'done'; result: ChatResult }
  | { type: 'error'; status: number; title: string; detail: string };

export type EmitEvent = (event: ChatEvent) => void;

export function thinkingOut(applied: AppliedThinking | undefined): ChatResult['thinking'] {
  if (!applied) return null;
  return applied.thinkingLevel
    ? { thinking_level: applied.thinkingLevel }
    : { thinking_budget: applied.thinkingBudget };
}
