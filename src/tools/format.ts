/**
 * Compact text for the model and the response budget. Tool results go into a
 * model's context window, so text is dense (one line per record, compact
 * JSON for cell values) and every list is cut to the budget with a way to
 * continue, rather than overflowing the client's limit.
 */
import type { AirtableRecord } from '../airtable/types.js';

/** Characters per token used to turn the token budget into characters (a common, slightly generous estimate). */
export const CHARS_PER_TOKEN = 4;

export function compactJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** One line per record: `recXXXXXXXXXXXXXX {"Name":"…","Status":"…"}`. */
export function recordLine(record: Pick<AirtableRecord, 'id' | 'fields'>): string {
  return `${record.id} ${compactJson(record.fields)}`;
}

export interface BudgetFit {
  /** How many leading items fit. */
  count: number;
  truncated: boolean;
}

/**
 * How many leading items fit in `maxChars`, given each item's text line and
 * its structured JSON (both reach the client). `reservedChars` covers headers
 * and summaries. Always keeps at least one item so progress is possible.
 */
export function fitToBudget<T>(
  items: readonly T[],
  line: (item: T) => string,
  maxChars: number,
  reservedChars = 200,
): BudgetFit {
  let used = reservedChars;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    used += Math.max(line(item).length + 1, compactJson(item).length + 1);
    if (used > maxChars && i > 0) return { count: i, truncated: true };
  }
  return { count: items.length, truncated: false };
}

/** "1 record" / "3 records". */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}

/** Shorten a long string for a summary line. */
export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Characters kept back from the budget for the summary line and JSON punctuation. */
const CLIP_RESERVE = 300;

/**
 * A record that alone is larger than the budget (a very long text cell, say)
 * with its longest text cells shortened until it fits; `clipped` says so.
 */
export function clipRecord<R extends { fields: Record<string, unknown> }>(
  record: R,
  maxChars: number,
): { record: R; clipped: boolean } {
  const limit = Math.max(1_000, maxChars - CLIP_RESERVE);
  let size = compactJson(record).length;
  if (size <= limit) return { record, clipped: false };
  const fields = { ...record.fields };
  const longest = Object.entries(fields)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .sort((a, b) => b[1].length - a[1].length);
  for (const [name, value] of longest) {
    if (size <= limit) break;
    const keep = Math.max(0, value.length - (size - limit) - 60);
    fields[name] = `${value.slice(0, keep)}… [${value.length - keep} characters cut to fit the response]`;
    size = compactJson({ ...record, fields }).length;
  }
  return { record: { ...record, fields }, clipped: true };
}

/** Clip the only record of a list when it alone overflows the budget (fitToBudget always keeps one). */
export function clipLoneRecord<R extends { fields: Record<string, unknown> }>(
  records: R[],
  maxChars: number,
): { records: R[]; clipped: boolean } {
  if (records.length !== 1) return { records, clipped: false };
  const { record, clipped } = clipRecord(records[0]!, maxChars);
  return { records: [record], clipped };
}
