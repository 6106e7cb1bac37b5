/**
 * Output shared by the batch tools (create, update, upsert, delete): what was
 * written, what failed and why, counts and requests, cut to the response
 * budget. Failures come first because they are what a model must act on;
 * written records shrink to ids (then to the first N) when their fields do
 * not fit.
 */
import { z } from 'zod';
import type { BatchResult, FailedOutcome, RecordOutcome } from '../airtable/index.js';
import type { AirtableRecord } from '../airtable/types.js';
import type { ToolContext } from './context.js';
import type { ToolResult } from './define.js';
import { ToolFailure, ToolInputError } from './errors.js';
import { compactJson, fitToBudget, plural } from './format.js';
import { failureSchema } from './schemas.js';

export const MAX_BATCH = 10_000;

export const batchItemSchema = z.object({
  index: z.number().int().describe('Position in the input list'),
  id: z.string(),
  fields: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Cell values as stored; left out when the response would be too large'),
});

/** Output fields every batch tool has; each adds its own counts. */
export const batchOutput = {
  records: z.array(batchItemSchema).describe('Records written, in input order'),
  failures: z.array(failureSchema).describe('Records not written, with the reason'),
  failed: z.number().int().describe('Records certainly not written'),
  unknown_outcomes: z
    .array(failureSchema)
    .describe(
      'Records whose request was sent but not answered (lost answer, timeout): they may have been written',
    ),
  unknown: z
    .number()
    .int()
    .describe('Records whose outcome is unknown (see unknown_outcomes): check them before retrying'),
  requests: z.number().int().describe('HTTP requests sent to Airtable'),
  truncated: z
    .boolean()
    .describe('True when the records or failures lists were cut to fit the response size'),
};

export interface BatchItem {
  index: number;
  id: string;
  action?: 'created' | 'updated' | 'created or updated';
  fields?: Record<string, unknown>;
}

export type BatchFailure = z.infer<typeof failureSchema>;

interface BatchStructured<T extends BatchItem> {
  records: T[];
  failures: BatchFailure[];
  failed: number;
  unknown_outcomes: BatchFailure[];
  unknown: number;
  requests: number;
  truncated: boolean;
}

export interface BatchReport<C extends Record<string, number>, T extends BatchItem> {
  /** Counts by outcome, e.g. {created: 24}; they lead the summary line. */
  counts: C;
  items: T[];
  failed: FailedOutcome<unknown>[];
  requests: number;
  /** Heading over the written records, e.g. "Created". */
  heading: string;
  /** Inputs never sent because the first chunk failed entirely (see runProbed). */
  notSent?: number;
}

/** Progress notifications from the client's per-chunk callback. */
function progressHook(ctx: ToolContext): (done: number, total: number) => void {
  return (done, total) => {
    void ctx.progress(done, total, `${done} of ${plural(total, 'record')}`);
  };
}

/** Airtable's per-request cap, and so the size of the client's chunks. */
const PROBE_SIZE = 10;

export interface BatchPart<R> {
  /** Index of the part's first input in the whole list. */
  offset: number;
  result: R;
}

/**
 * Sends the first chunk on its own and the rest only if something in it was
 * written. When every one of the first 10 fails, the cause is nearly always
 * shared (a value of the wrong type, missing permission), and sending the
 * rest would cost a rejected request per chunk plus one per record.
 */
export async function runProbed<I, R extends BatchResult<unknown>>(
  ctx: ToolContext,
  inputs: readonly I[],
  run: (slice: I[], onProgress: (done: number) => void) => Promise<R>,
): Promise<{ parts: BatchPart<R>[]; notSent: number }> {
  const hook = progressHook(ctx);
  const total = inputs.length;
  const probe = await run(inputs.slice(0, PROBE_SIZE), (done) => hook(done, total));
  const parts = [{ offset: 0, result: probe }];
  if (total <= PROBE_SIZE) return { parts, notSent: 0 };
  if (!probe.succeeded.length) return { parts, notSent: total - PROBE_SIZE };
  const rest = await run(inputs.slice(PROBE_SIZE), (done) => hook(PROBE_SIZE + done, total));
  return { parts: [...parts, { offset: PROBE_SIZE, result: rest }], notSent: 0 };
}

/** One result for the whole input list, indexes counted from its start. */
export function mergeParts<T>(parts: readonly BatchPart<BatchResult<T>>[]): BatchResult<T> {
  const outcomes = parts.flatMap((p) => p.result.outcomes.map((o) => ({ ...o, index: o.index + p.offset })));
  return {
    outcomes,
    succeeded: parts.flatMap((p) => p.result.succeeded),
    failed: outcomes.filter((o): o is Extract<RecordOutcome<T>, { ok: false }> => !o.ok),
    requests: parts.reduce((sum, p) => sum + p.result.requests, 0),
  };
}

const failureLine = (f: BatchFailure) => `#${f.index}${f.id ? ` ${f.id}` : ''} ${f.error}`;
const itemLine = (i: BatchItem) =>
  `#${i.index} ${i.id}${i.action ? ` ${i.action}` : ''}${i.fields ? ` ${compactJson(i.fields)}` : ''}`;

/**
 * Text lines for failures; a run of consecutive inputs failing the same way
 * (a shared cause, or a cancelled tail) becomes one line: `#10-#9999 error`.
 */
function failureLines(failures: readonly BatchFailure[]): string[] {
  const lines: string[] = [];
  let i = 0;
  while (i < failures.length) {
    const first = failures[i]!;
    let j = i + 1;
    while (!first.id && j < failures.length && continues(failures[j - 1]!, failures[j]!)) j++;
    lines.push(j - i > 1 ? `#${first.index}-#${failures[j - 1]!.index} ${first.error}` : failureLine(first));
    i = j;
  }
  return lines;
}

const continues = (a: BatchFailure, b: BatchFailure) =>
  !b.id && b.error === a.error && b.index === a.index + 1;

/** Characters `items` take in the text and in the structured output (the larger of the two, as fitToBudget counts). */
function cost<T>(items: readonly T[], line: (item: T) => string): number {
  return items.reduce((sum, item) => sum + Math.max(line(item).length, compactJson(item).length) + 1, 0);
}

function toFailure(f: FailedOutcome<unknown>): BatchFailure {
  return { index: f.index, ...(f.id ? { id: f.id } : {}), error: `${f.error.type}: ${f.error.message}` };
}

/** Leading items that fit in what is left of the budget: with fields if all of them fit, else ids only. */
function fitItems<T extends BatchItem>(
  items: T[],
  maxChars: number,
  used: number,
): { kept: T[]; cut: boolean } {
  const full = fitToBudget(items, itemLine, maxChars, used);
  if (!full.truncated) return { kept: items, cut: false };
  const bare = items.map(({ fields: _fields, ...rest }) => rest as T);
  const fit = fitToBudget(bare, itemLine, maxChars, used);
  return { kept: bare.slice(0, fit.count), cut: true };
}

/**
 * The tool result for a finished batch. When nothing at all was written the
 * same report is thrown instead, so the call is an error a model cannot
 * mistake for success; a partial success is a normal result. Either way the
 * structured part lists failures and unknown outcomes apart, with counts.
 */
export function batchResult<C extends Record<string, number>, T extends BatchItem>(
  ctx: Pick<ToolContext, 'maxResponseChars'>,
  report: BatchReport<C, T>,
): ToolResult<C & BatchStructured<T>> {
  const failures = report.failed.filter((f) => !f.unknown).map(toFailure);
  const unknowns = report.failed.filter((f) => f.unknown).map(toFailure);
  // One hint per distinct cause, not one per failed record.
  const hints = [...new Set(report.failed.map((f) => f.error.hint))].slice(0, 3).map((h) => `Hint: ${h}`);
  const reserved = 300 + hints.join('\n').length;
  // Unknown outcomes first: they are what a model must check before doing anything else.
  const unknownFit = fitToBudget(unknowns, failureLine, ctx.maxResponseChars, reserved);
  const keptUnknowns = unknowns.slice(0, unknownFit.count);
  const afterUnknowns = reserved + cost(keptUnknowns, failureLine);
  const failFit = fitToBudget(failures, failureLine, ctx.maxResponseChars, afterUnknowns);
  const keptFailures = failures.slice(0, failFit.count);
  const items = fitItems(report.items, ctx.maxResponseChars, afterUnknowns + cost(keptFailures, failureLine));
  const text = [
    ...summaryLines(report, failures.length, unknowns.length),
    ...(unknowns.length
      ? [shownHeading('Outcome unknown', keptUnknowns.length, unknowns.length, false)]
      : []),
    ...failureLines(keptUnknowns),
    ...(failures.length ? [shownHeading('Failed', keptFailures.length, failures.length, false)] : []),
    ...failureLines(keptFailures),
    ...hints,
    ...(items.kept.length
      ? [shownHeading(report.heading, items.kept.length, report.items.length, items.cut)]
      : []),
    ...items.kept.map(itemLine),
  ].join('\n');
  const truncated =
    keptFailures.length < failures.length ||
    keptUnknowns.length < unknowns.length ||
    items.kept.length < report.items.length;
  const structured = {
    ...report.counts,
    records: items.kept,
    failures: keptFailures,
    failed: failures.length,
    unknown_outcomes: keptUnknowns,
    unknown: unknowns.length,
    requests: report.requests,
    truncated,
  };
  if (!report.items.length && report.failed.length) {
    // Nothing was written for sure only when Airtable refused every record; otherwise the model must check first.
    throw unknowns.length ? new ToolFailure(text, { structured }) : new ToolInputError(text, { structured });
  }
  return { structured, text };
}

/** "24 created, 1 failed (3 requests)." and, after a failed probe, why the rest was not sent. */
function summaryLines(
  report: BatchReport<Record<string, number>, BatchItem>,
  failed: number,
  uncertain: number,
): string[] {
  // The first count always shows ("0 created"); later ones only when they happened.
  const counts = Object.entries(report.counts)
    .filter(([, n], i) => i === 0 || n > 0)
    .map(([what, n]) => `${n} ${what}`);
  const notSent = report.notSent ? [`${report.notSent} not sent`] : [];
  const unknown = uncertain ? [`${uncertain} outcome unknown`] : [];
  const head = [...counts, `${failed} failed`, ...unknown, ...notSent].join(', ');
  const tail = uncertain
    ? `; for ${plural(uncertain, 'record')} the outcome is unknown (the write may have happened): check before retrying`
    : failed && !report.items.length
      ? '; nothing was changed'
      : '';
  const lines = [`${head} (${plural(report.requests, 'request')})${tail}.`];
  if (report.notSent) {
    const advice = uncertain ? 'check what was written, then send the rest' : 'fix and resend';
    lines.push(
      `The first ${PROBE_SIZE} records all failed${uncertain ? ' or went unanswered' : ''}, so the other ${report.notSent} were not sent: ${advice}.`,
    );
  }
  return lines;
}

function shownHeading(label: string, shown: number, total: number, idsOnly: boolean): string {
  const note = idsOnly ? '; ids only, to fit the response' : '';
  return shown < total
    ? `${label} (first ${shown} of ${total} shown${note}):`
    : `${label} (${total}${note}):`;
}

/** The result of a batch that saves records (create or update): one item per saved record, in input order. */
export function savedRecordsResult<K extends string>(
  ctx: Pick<ToolContext, 'maxResponseChars'>,
  run: { parts: readonly BatchPart<BatchResult<AirtableRecord>>[]; notSent: number },
  countKey: K,
  heading: string,
) {
  const result = mergeParts(run.parts);
  const items = result.outcomes.flatMap((o) =>
    o.ok ? [{ index: o.index, id: o.value.id, fields: o.value.fields }] : [],
  );
  return batchResult(ctx, {
    counts: { [countKey]: items.length } as Record<K, number>,
    items,
    failed: result.failed,
    requests: result.requests,
    heading,
    notSent: run.notSent,
  });
}
