/**
 * Checks shared by the record-writing tools, done before anything is sent:
 * the table exists, every field named exists and is writable, record ids
 * look like record ids. A mistake a model can fix is reported at once, with
 * the valid choices, instead of costing a failed request per record (a
 * misspelt field in a 10,000-record batch would otherwise be 1,000 rejected
 * chunks plus 10,000 one-by-one retries).
 */
import { AirtableError } from '../airtable/index.js';
import type { Fields, TableSchema } from '../airtable/types.js';
import { isComputed } from './cells.js';
import { requireFields, type ToolContext } from './context.js';
import { ToolInputError } from './errors.js';
import { clip, plural } from './format.js';
import { RECORD_ID_PATTERN } from './schemas.js';

export interface WriteTable {
  /** How requests address the table: its id when the schema is known, else the name given. */
  ref: string;
  schema?: TableSchema;
}

/**
 * The table to write to. A token without the schema.bases:read scope can
 * still write records, so a 403 on the schema skips the local checks and
 * leaves them to Airtable instead of failing.
 */
export async function writeTable(ctx: ToolContext, baseId: string, table: string): Promise<WriteTable> {
  try {
    const schema = await ctx.schemas.table(baseId, table, ctx.signal);
    return { ref: schema.id, schema };
  } catch (error) {
    if (error instanceof AirtableError && error.kind === 'forbidden_or_not_found') return { ref: table };
    throw error;
  }
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Accepts `{"fields": {...}}` as well as bare cell values (the original
 * system's batch tools sent both shapes). A real field called "fields" wins.
 */
export function unwrapFields(value: Fields, schema?: TableSchema): Fields {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'fields' || !isPlainObject(value.fields)) return value;
  if (schema?.fields.some((f) => f.name === 'fields')) return value;
  return value.fields;
}

/**
 * Rewrites field keys to the exact field names (so "status" reaches Airtable
 * as "Status"), after checking every key names a writable field. Without a
 * schema the records go out unchanged.
 */
export async function canonicalFields(
  ctx: ToolContext,
  baseId: string,
  target: WriteTable,
  records: readonly Fields[],
): Promise<Fields[]> {
  if (!target.schema) return [...records];
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const names = await resolveNames(ctx, baseId, target.schema, keys);
  return records.map((r) => rename(r, names));
}

async function resolveNames(
  ctx: ToolContext,
  baseId: string,
  schema: TableSchema,
  keys: string[],
): Promise<Map<string, string>> {
  let fields: ReturnType<typeof requireFields>;
  try {
    fields = requireFields(schema, keys);
  } catch (error) {
    if (!(error instanceof ToolInputError)) throw error;
    // The cached schema may predate a field added elsewhere: look once more, at Airtable itself.
    const tables = await ctx.schemas.tables(baseId, ctx.signal, true);
    fields = requireFields(tables.find((t) => t.id === schema.id) ?? schema, keys);
  }
  const computed = fields.filter((f) => isComputed(f));
  if (computed.length) {
    const list = computed.map((f) => `"${f.name}" (${f.type})`).join(', ');
    throw new ToolInputError(
      `Computed fields cannot be written: ${list}. Leave them out; Airtable fills them in.`,
    );
  }
  return new Map(keys.map((key, i) => [key, fields[i]!.name]));
}

function rename(fields: Fields, names: Map<string, string>): Fields {
  const seen = new Map<string, string>();
  for (const key of Object.keys(fields)) {
    const name = names.get(key) ?? key;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new ToolInputError(
        `Field "${name}" is given twice in one record (as "${earlier}" and "${key}").`,
      );
    }
    seen.set(name, key);
  }
  // fromEntries defines own properties, so a field named "__proto__" stays a field.
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [names.get(key) ?? key, value]));
}

/** The exact names of the merge fields, which must exist and not be computed. */
export async function mergeFieldNames(
  ctx: ToolContext,
  baseId: string,
  target: WriteTable,
  wanted: readonly string[],
): Promise<string[]> {
  if (!target.schema) return [...wanted];
  const names = await resolveNames(ctx, baseId, target.schema, [...wanted]);
  return wanted.map((w) => names.get(w)!);
}

/** Rejects the whole call when any id is malformed: nothing is written, and the model sees every bad index. */
export function checkRecordIds(ids: readonly string[], label: (index: number) => string): void {
  const bad = ids.flatMap((id, i) =>
    RECORD_ID_PATTERN.test(id) ? [] : [`${label(i)} ${clip(JSON.stringify(id), 40)}`],
  );
  if (!bad.length) return;
  throw new ToolInputError(
    `${plural(bad.length, 'malformed record id')} (ids look like recXXXXXXXXXXXXXX, 17 characters): ` +
      `${listSome(bad)}. Nothing was written.`,
  );
}

/** "a, b, c and 7 more". */
export function listSome(items: readonly string[], max = 10): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
