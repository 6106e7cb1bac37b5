/**
 * Reading records page by page with a continuation token a model can pass
 * back. Airtable offsets only mark page starts, so when the response budget
 * cuts inside a page the token also carries how many records of that page to
 * skip: `<airtable offset>|<skip>` (the offset part is empty for the first page).
 */
import type { AirtableRecord, ListRecordsParams } from '../airtable/types.js';
import type { ToolContext } from './context.js';
import { ToolInputError } from './errors.js';
import { clipLoneRecord } from './format.js';

const PAGE_SIZE = 100;
// Airtable offsets are opaque; accept their character set rather than one exact shape.
const CONTINUATION = /^([A-Za-z0-9/]{0,300})(?:\|(\d{1,6}))?$/;

export interface Continuation {
  offset?: string;
  skip: number;
}

export function parseContinuation(token: string | undefined): Continuation {
  if (!token) return { skip: 0 };
  const match = CONTINUATION.exec(token.trim());
  if (!match) {
    throw new ToolInputError(
      `offset "${token}" is not a continuation token from a previous call; omit offset to start from the beginning.`,
    );
  }
  return { offset: match[1] || undefined, skip: Number(match[2] ?? 0) };
}

export function formatContinuation(c: Continuation): string {
  return c.skip ? `${c.offset ?? ''}|${c.skip}` : (c.offset ?? '');
}

interface FetchedRecord {
  record: AirtableRecord;
  /** Where a reader resumes to get this record first. */
  resumeAt: Continuation;
}

/** Records read from a continuation, and the token that resumes at any of them. */
export interface FetchedWindow {
  records: AirtableRecord[];
  /**
   * The token that resumes at `records[i]`; at `records.length`, the token
   * after the window, or undefined when the table has no more.
   */
  continuationAt(i: number): string | undefined;
}

/**
 * Up to `limit` records from `start`, fetched in pages of 100. Page starts
 * are remembered, so a cut anywhere (a budget can stop mid-page) still yields
 * an exact continuation.
 */
export async function fetchWindow(
  ctx: ToolContext,
  baseId: string,
  table: string,
  params: Omit<ListRecordsParams, 'offset' | 'maxRecords' | 'pageSize'>,
  limit: number,
  start: Continuation,
  onProgress?: (read: number) => void,
): Promise<FetchedWindow> {
  const fetched: FetchedRecord[] = [];
  let pageOffset = start.offset;
  let skip = start.skip;
  let more = true;
  while (more && fetched.length < limit) {
    const page = await ctx.client.listRecordsPage(
      baseId,
      table,
      { ...params, pageSize: Math.min(PAGE_SIZE, limit - fetched.length + skip), offset: pageOffset },
      { signal: ctx.signal },
    );
    page.records.forEach((record, i) => {
      if (i >= skip) fetched.push({ record, resumeAt: { offset: pageOffset, skip: i } });
    });
    skip = 0;
    more = page.offset !== undefined;
    pageOffset = page.offset;
    onProgress?.(fetched.length);
  }
  const after = more ? { offset: pageOffset, skip: 0 } : undefined;
  return {
    records: fetched.map((f) => f.record),
    continuationAt(i) {
      const at = fetched[i]?.resumeAt ?? after;
      return at && formatContinuation(at);
    },
  };
}

export interface RecordWindow {
  records: AirtableRecord[];
  /** Token for the next call, when more records exist. */
  next?: string;
  /** The only record returned was larger than the response budget and its long text cells were shortened. */
  clipped: boolean;
}

/**
 * Up to `limit` records starting at `start`. `keep(records)` decides how many
 * of them to return (the response budget; it may first look up what the rows
 * will show, such as linked records' names); the continuation then points at
 * the first one dropped.
 */
export async function readRecords(
  ctx: ToolContext,
  baseId: string,
  table: string,
  params: Omit<ListRecordsParams, 'offset' | 'maxRecords' | 'pageSize'>,
  limit: number,
  start: Continuation,
  keep: (records: AirtableRecord[]) => number | Promise<number> = (r) => r.length,
): Promise<RecordWindow> {
  const window = await fetchWindow(ctx, baseId, table, params, limit, start);
  const kept = Math.min(await keep(window.records), window.records.length);
  const { records, clipped } = clipLoneRecord(window.records.slice(0, kept), ctx.maxResponseChars);
  return { records, next: window.continuationAt(kept), clipped };
}
