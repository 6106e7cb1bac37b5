/**
 * Reading a whole table (up to a cap) for tools that need every record at
 * once: statistics, duplicates, sync. The client pages through 100 records
 * per request under the rate limiter; `more` tells whether the cap, not the
 * end of the table, stopped it, so no tool stops silently.
 */
import type { AirtableRecord, ListRecordsParams } from '../airtable/types.js';
import type { ToolContext } from './context.js';

export interface ReadAllResult {
  records: AirtableRecord[];
  /** True when the table has records beyond the cap. */
  more: boolean;
}

export async function readAll(
  ctx: Pick<ToolContext, 'client' | 'signal'>,
  baseId: string,
  tableId: string,
  params: Omit<ListRecordsParams, 'maxRecords' | 'offset' | 'pageSize'>,
  cap: number,
  /** Running count after each page, e.g. for progress notifications. */
  onRead?: (soFar: number) => void,
): Promise<ReadAllResult> {
  const page = await ctx.client.listRecords(
    baseId,
    tableId,
    { ...params, maxRecords: cap },
    { signal: ctx.signal, onPage: (_page, soFar) => onRead?.(soFar) },
  );
  return { records: page.records, more: page.offset !== undefined };
}
