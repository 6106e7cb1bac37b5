/** Turns seed bases into rows for the store: creation order, auto numbers and consistent two-way links. */
import type { BaseDef, CommentRow, SeedBase } from './model.js';

export interface SeedRecordRow {
  id: string;
  baseId: string;
  tableId: string;
  seq: number;
  autoNumber: number;
  createdTime: string;
  fields: Record<string, unknown>;
}

export interface PreparedSeed {
  bases: BaseDef[];
  records: SeedRecordRow[];
  comments: Array<CommentRow & { seq: number; baseId: string }>;
  counters: Map<string, number>;
}

export function prepareSeed(seed: SeedBase[]): PreparedSeed {
  const out: PreparedSeed = { bases: [], records: [], comments: [], counters: new Map() };
  let seq = 0;
  const now = new Date().toISOString();
  for (const entry of structuredClone(seed)) {
    out.bases.push(entry.base);
    const byId = new Map<string, Record<string, unknown>>();
    for (const table of entry.base.tables) {
      const rows = entry.records[table.id] ?? [];
      rows.forEach((r, i) => {
        byId.set(r.id, r.fields);
        out.records.push({
          id: r.id,
          baseId: entry.base.id,
          tableId: table.id,
          seq: ++seq,
          autoNumber: i + 1,
          createdTime: r.createdTime || now,
          fields: r.fields,
        });
      });
      out.counters.set(`auto:${table.id}`, rows.length);
    }
    completeInverseLinks(entry.base, entry.records, byId);
    for (const c of entry.comments ?? []) out.comments.push({ ...c, seq: ++seq, baseId: entry.base.id });
  }
  out.counters.set('seq', seq);
  return out;
}

/** Seeds may list a link on one side only; add the missing inverse entries so both sides agree. */
function completeInverseLinks(
  base: BaseDef,
  records: SeedBase['records'],
  byId: Map<string, Record<string, unknown>>,
): void {
  for (const table of base.tables) {
    for (const field of table.fields) {
      const inverse = field.options?.inverseLinkFieldId;
      if (field.type !== 'multipleRecordLinks' || typeof inverse !== 'string') continue;
      for (const row of records[table.id] ?? []) {
        const links = row.fields[field.id];
        if (!Array.isArray(links)) continue;
        for (const target of links) {
          const targetFields = byId.get(String(target));
          if (!targetFields) continue;
          const back = Array.isArray(targetFields[inverse]) ? (targetFields[inverse] as string[]) : [];
          if (!back.includes(row.id)) targetFields[inverse] = [...back, row.id];
        }
      }
    }
  }
}
