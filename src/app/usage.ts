/**
 * Usage records: every tool call, chat turn and workflow step, who made it,
 * how it ended and what it cost. The analytics routes read them back from
 * the `usage_records` table (see store/schema.ts).
 */

export type UsageKind = 'tool' | 'chat' | 'workflow_step' | 'event';

export interface UsageEvent {
  kind: UsageKind;
  /** The tool's name; for chat turns the model id; for steps '<workflow>/<step>'; for events the event name. */
  name: string;
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied';
  durationMs: number;
  principalKind: string;
  /** The principal's id (key id, user id, 'anonymous'). */
  principalId: string;
  userId?: string | null;
  sessionId?: string | null;
  source?: string;
  airtableRequests?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Estimated cost in US dollars (prices are configurable and change). */
  costUsd?: number;
  model?: string;
  /** Small JSON details (client events); capped by the caller. */
  detail?: Record<string, unknown>;
  /** Default now. */
  at?: string;
}

export interface UsageSink {
  /** Buffered and written in batches; never throws and never blocks the caller. */
  record(event: UsageEvent): void;
  /** Write what is buffered now (tests, shutdown, before reading analytics). */
  flush(): Promise<void>;
}
