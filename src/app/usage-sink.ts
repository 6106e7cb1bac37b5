/**
 * The usage sink modules and the tool runtime write to: events become rows
 * of the core's usage_records table through the batching recorder. Without
 * a store (plain stdio) events are dropped: nothing reads them there.
 */
import type { Logger } from '../logger.js';
import type { UsageRecord } from '../store/types.js';
import type { UsageRecorder } from '../store/usage-recorder.js';
import type { ToolCallRecord } from '../tools/runtime.js';
import type { UsageEvent, UsageSink } from './usage.js';

/** Client-supplied details are kept small: a usage row is not a place for documents. */
const MAX_DETAIL_CHARS = 2_000;

export function createUsageSink(recorder: UsageRecorder | undefined, logger: Logger): UsageSink {
  if (!recorder) return { record: () => {}, flush: async () => {} };
  return {
    record(event) {
      try {
        recorder.record(toUsageRecord(event));
      } catch (error) {
        logger.debug({ err: error }, 'usage event dropped');
      }
    },
    flush: () => recorder.flush(),
  };
}

export function toUsageRecord(event: UsageEvent): UsageRecord {
  return {
    at: event.at ?? new Date().toISOString(),
    tool: event.name,
    outcome: event.outcome,
    durationMs: Math.round(event.durationMs),
    keyId:
      event.principalKind === 'server_key' || event.principalKind === 'personal_key'
        ? event.principalId
        : null,
    sessionId: event.sessionId ?? null,
    kind: event.kind,
    principalKind: event.principalKind,
    principalId: event.principalId,
    userId: event.userId ?? null,
    source: event.source ?? null,
    airtableRequests: event.airtableRequests ?? 0,
    inputTokens: event.inputTokens ?? 0,
    outputTokens: event.outputTokens ?? 0,
    costUsd: event.costUsd ?? 0,
    model: event.model ?? null,
    detail: cappedDetail(event.detail),
  };
}

function cappedDetail(detail: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (detail === undefined) return undefined;
  const text = JSON.stringify(detail);
  return text.length <= MAX_DETAIL_CHARS
    ? detail
    : { truncated: true, preview: text.slice(0, MAX_DETAIL_CHARS) };
}

/** A finished tool call as a usage event (the runtime's record, whoever made the call). */
export function toolCallUsage(call: ToolCallRecord): UsageEvent {
  return {
    kind: 'tool',
    name: call.tool,
    outcome: call.outcome,
    durationMs: call.durationMs,
    principalKind: call.principal.kind,
    principalId: call.principal.id,
    userId: call.principal.userId ?? null,
    sessionId: call.sessionId ?? null,
    source: call.source,
    airtableRequests: call.airtableRequests,
  };
}
