/** Record objects as the API returns them: fields in table order, empty cells omitted. */
import { isEmptyCell } from './computed.js';
import type { TableDef } from './model.js';
import type { Reader } from './reader.js';
import type { StoredRecord } from './store.js';
import { cellText } from './text.js';

export interface RenderOptions {
  /** Only these field ids (the `fields` parameter); all fields when absent. */
  fieldIds?: Set<string>;
  byId: boolean;
  cellFormat: 'json' | 'string';
  commentCount: boolean;
}

export const DEFAULT_RENDER: RenderOptions = { byId: false, cellFormat: 'json', commentCount: false };

export function renderRecord(
  reader: Reader,
  table: TableDef,
  rec: StoredRecord,
  opts: RenderOptions = DEFAULT_RENDER,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const field of table.fields) {
    if (opts.fieldIds && !opts.fieldIds.has(field.id)) continue;
    const value =
      opts.cellFormat === 'string' ? cellText(reader, table, rec, field) : reader.cell(table, rec, field);
    if (!isEmptyCell(value)) fields[opts.byId ? field.id : field.name] = value;
  }
  const out: Record<string, unknown> = { id: rec.id, createdTime: rec.createdTime, fields };
  if (opts.commentCount) out.commentCount = reader.store.commentCount(rec.id);
  return out;
}
