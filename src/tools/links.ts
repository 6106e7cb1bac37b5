/**
 * `expand_links`: the primary field values ("names") of linked records, so a
 * model sees `Project: [recQ5e1yfAAExilTn Website relaunch]` instead of an id
 * it must look up with another call. The lookup goes through the same client
 * (and so the same rate limiter) as every other read, and costs one request
 * per linked table per 100 distinct linked records, plus the linked tables'
 * schema (one request per base, usually already cached). At most
 * MAX_EXPANDED distinct linked records are looked up per call.
 */
import { z } from 'zod';
import type { AirtableRecord, TableSchema } from '../airtable/types.js';
import type { ToolContext } from './context.js';
import type { LinkNames } from './format.js';
import { RECORD_ID_PATTERN } from './schemas.js';

/** Records per lookup request: Airtable's page size. */
const PER_REQUEST = 100;
/** Distinct linked records looked up per call: at most 5 requests per linked table. */
export const MAX_EXPANDED = 500;

export const expandLinksParam = z
  .boolean()
  .default(false)
  .describe(
    `Names beside linked record ids; +1 request per linked table per 100 links (max ${MAX_EXPANDED}).`,
  );

export const linkedSchema = z
  .record(z.string(), z.string())
  .optional()
  .describe('With expand_links: primary value of each linked record id');

export interface ExpandedLinks {
  names: LinkNames;
  /** Lookup requests sent to Airtable. */
  requests: number;
  /** Distinct linked ids left unexpanded (past MAX_EXPANDED). */
  skipped: number;
}

/** The primary value as one line of text: lists joined, collaborators by name. */
function primaryText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const parts = value.map(primaryText).filter((v): v is string => v !== undefined);
    return parts.length ? parts.join(', ') : undefined;
  }
  const named = value as { name?: unknown; email?: unknown };
  if (typeof named.name === 'string') return named.name;
  if (typeof named.email === 'string') return named.email;
  return JSON.stringify(value);
}

/** Linked record ids in `records`, grouped by the table they link to. */
function linkedIds(
  table: TableSchema,
  records: readonly Pick<AirtableRecord, 'fields'>[],
): Map<string, Set<string>> {
  const byTable = new Map<string, Set<string>>();
  for (const field of table.fields) {
    const target = field.options?.linkedTableId;
    if (field.type !== 'multipleRecordLinks' || typeof target !== 'string') continue;
    for (const record of records) {
      const cell = record.fields[field.name] ?? record.fields[field.id];
      if (!Array.isArray(cell)) continue;
      const ids = byTable.get(target) ?? new Set<string>();
      for (const id of cell) if (typeof id === 'string' && RECORD_ID_PATTERN.test(id)) ids.add(id);
      byTable.set(target, ids);
    }
  }
  return byTable;
}

/**
 * Looks up the primary values of the records that `records` link to. A
 * linked table that cannot be read (deleted, no permission) leaves its ids
 * bare rather than failing the read they belong to.
 */
export async function expandLinks(
  ctx: ToolContext,
  baseId: string,
  table: TableSchema,
  records: readonly Pick<AirtableRecord, 'fields'>[],
): Promise<ExpandedLinks> {
  const names = new Map<string, string>();
  let requests = 0;
  let budget = MAX_EXPANDED;
  let skipped = 0;
  for (const [tableId, idSet] of linkedIds(table, records)) {
    const ids = [...idSet];
    const taken = ids.slice(0, Math.max(0, budget));
    skipped += ids.length - taken.length;
    budget -= taken.length;
    if (!taken.length) continue;
    const linked = await ctx.schemas.table(baseId, tableId, ctx.signal).catch(() => undefined);
    const primary = linked?.fields.find((f) => f.id === linked.primaryFieldId);
    if (!linked || !primary) continue;
    for (let i = 0; i < taken.length; i += PER_REQUEST) {
      const chunk = taken.slice(i, i + PER_REQUEST);
      // Ids were checked against RECORD_ID_PATTERN, so they are safe inside the quotes.
      const formula = `OR(${chunk.map((id) => `RECORD_ID()='${id}'`).join(',')})`;
      requests += 1;
      const page = await ctx.client.listRecordsPage(
        baseId,
        linked.id,
        { filterByFormula: formula, fields: [primary.id], pageSize: PER_REQUEST },
        { signal: ctx.signal },
      );
      for (const record of page.records) {
        const text = primaryText(record.fields[primary.name] ?? record.fields[primary.id]);
        if (text !== undefined) names.set(record.id, text);
      }
    }
  }
  return { names, requests, skipped };
}

/** The names actually shown by `records`, for the structured part: each linked id once. */
export function linkedFor(
  names: LinkNames,
  records: readonly Pick<AirtableRecord, 'fields'>[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const record of records) {
    for (const cell of Object.values(record.fields)) {
      if (!Array.isArray(cell)) continue;
      for (const id of cell) {
        const name = typeof id === 'string' ? names.get(id) : undefined;
        if (name !== undefined) out[id as string] = name;
      }
    }
  }
  return out;
}

/** "linked names: 12 (2 extra requests)": what a header says about the expansion. */
export function linkSummary(expanded: ExpandedLinks): string {
  const skipped = expanded.skipped ? `, ${expanded.skipped} more linked records left as ids` : '';
  const plural = expanded.requests === 1 ? '' : 's';
  return `linked names: ${expanded.names.size} (${expanded.requests} extra request${plural}${skipped})`;
}

/** The header's "; linked names: …" part, or '' without expansion. */
export function expansionNote(expanded: ExpandedLinks | undefined): string {
  return expanded ? `; ${linkSummary(expanded)}` : '';
}
