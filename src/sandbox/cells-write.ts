/**
 * Validation and conversion of written cell values, per field type (reference §2.9, §5.2). Returns the
 * value to store, or undefined for an empty cell (empty cells are never stored, so they read back absent).
 */
import { TEXT_FIELD_TYPES } from '../airtable/field-types.js';
import { apiError, invalidChoice, invalidValue } from './errors.js';
import { newId } from './ids.js';
import type { FieldDef, SelectChoice } from './model.js';
import { toCollaborator } from './users.js';

export interface CellWriteContext {
  typecast: boolean;
  /** Resolves a written link entry (a record id, or with typecast a primary-field name) to a record id. */
  resolveLink(linkedTableId: string, value: string, typecast: boolean): string | undefined;
  /** Select choices created by typecast in this request; the schema is only saved if the request succeeds. */
  addedChoices: Map<string, SelectChoice[]>;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_PREFIX = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

type Converter = (field: FieldDef, value: unknown, ctx: CellWriteContext, current: unknown) => unknown;

const CONVERTERS: Record<string, Converter> = {
  number: toNumber,
  percent: toNumber,
  currency: toNumber,
  duration: toNumber,
  rating: toRating,
  checkbox: toCheckbox,
  singleSelect: toSingleSelect,
  multipleSelects: toMultipleSelects,
  multipleRecordLinks: toLinks,
  date: toDate,
  dateTime: toDateTime,
  multipleAttachments: toAttachments,
  singleCollaborator: toSingleCollaborator,
  multipleCollaborators: toMultipleCollaborators,
  barcode: toBarcode,
};

/** The storable value for `value` written to `field`; undefined clears the cell. */
export function convertCell(
  field: FieldDef,
  value: unknown,
  ctx: CellWriteContext,
  current?: unknown,
): unknown {
  if (value === null || value === undefined) return undefined;
  if (TEXT_FIELD_TYPES.has(field.type)) return toText(field, value, ctx);
  const convert = CONVERTERS[field.type];
  // Types the sandbox does not model are stored as given, like an opaque cell.
  return convert ? convert(field, value, ctx, current) : value;
}

function toText(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (ctx.typecast && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (ctx.typecast && Array.isArray(value)) return value.map(String).join(', ') || undefined;
  throw invalidValue(field.name);
}

function toNumber(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (ctx.typecast && typeof value === 'string') {
    const text = value.trim().replace(/,/g, '');
    if (text === '') return undefined;
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  if (ctx.typecast && typeof value === 'boolean') return value ? 1 : 0;
  throw invalidValue(field.name);
}

function toRating(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  const n = toNumber({ ...field, type: 'number' }, value, ctx);
  if (n === undefined || n === 0) return undefined;
  const max = typeof field.options?.max === 'number' ? field.options.max : 5;
  const rounded = ctx.typecast ? Math.round(n as number) : (n as number);
  if (!Number.isInteger(rounded) || rounded < 1 || rounded > max) throw invalidValue(field.name);
  return rounded;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'checked', 'on', 'x']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'unchecked', 'off', '']);

function toCheckbox(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (typeof value === 'boolean') return value || undefined;
  if (ctx.typecast && (typeof value === 'string' || typeof value === 'number')) {
    const word = String(value).trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return undefined;
  }
  throw invalidValue(field.name);
}

function choicesOf(field: FieldDef, ctx: CellWriteContext): SelectChoice[] {
  const base = Array.isArray(field.options?.choices) ? (field.options.choices as SelectChoice[]) : [];
  return [...base, ...(ctx.addedChoices.get(field.id) ?? [])];
}

/** The choice name for `name`; with typecast an unknown name becomes a new choice. */
function resolveChoice(field: FieldDef, raw: unknown, ctx: CellWriteContext): string | undefined {
  if (typeof raw !== 'string') {
    if (!ctx.typecast || (typeof raw !== 'number' && typeof raw !== 'boolean'))
      throw invalidValue(field.name);
    raw = String(raw);
  }
  const name = ctx.typecast ? (raw as string).trim() : (raw as string);
  if (name === '') return undefined;
  const choices = choicesOf(field, ctx);
  const hit = choices.find((c) => c.name === name) ?? choices.find((c) => c.id === name);
  if (hit) return hit.name;
  if (!ctx.typecast) throw invalidChoice(name);
  const added = ctx.addedChoices.get(field.id) ?? [];
  added.push({ id: newId('sel'), name });
  ctx.addedChoices.set(field.id, added);
  return name;
}

function toSingleSelect(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  return resolveChoice(field, value, ctx);
}

function asList(field: FieldDef, value: unknown, ctx: CellWriteContext, splitStrings: boolean): unknown[] {
  if (Array.isArray(value)) return value;
  if (ctx.typecast && typeof value === 'string') {
    return splitStrings
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [value];
  }
  throw invalidValue(field.name);
}

function toMultipleSelects(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  const names: string[] = [];
  for (const item of asList(field, value, ctx, true)) {
    const name = resolveChoice(field, item, ctx);
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names.length ? names : undefined;
}

function toLinks(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  const linkedTableId = String(field.options?.linkedTableId ?? '');
  const ids: string[] = [];
  for (const item of asList(field, value, ctx, false)) {
    const ref = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : item;
    if (typeof ref !== 'string') throw invalidValue(field.name);
    const id = ctx.resolveLink(linkedTableId, ref, ctx.typecast);
    if (id === undefined) {
      throw apiError(
        422,
        'ROW_DOES_NOT_EXIST',
        `Record ID ${ref} does not exist in the table linked by field "${field.name}"`,
      );
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return ids.length ? ids : undefined;
}

function isRealDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function toDate(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (value === '') return undefined;
  if (typeof value === 'string') {
    const m = DATE_ONLY.exec(value);
    if (m) {
      if (isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) return value;
      throw invalidValue(field.name);
    }
  }
  const iso = parseDateTime(value, ctx.typecast);
  if (iso === undefined) throw invalidValue(field.name);
  return iso.slice(0, 10);
}

/** ISO strings and epoch milliseconds are always accepted; other date strings only with typecast. */
function parseDateTime(value: unknown, typecast: boolean): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
  if (typeof value !== 'string') return undefined;
  if (!typecast && !ISO_PREFIX.test(value.trim())) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function toDateTime(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (value === '') return undefined;
  const iso = parseDateTime(value, ctx.typecast);
  if (iso === undefined) throw invalidValue(field.name);
  return iso;
}

const MIME: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  zip: 'application/zip',
};

export function guessMimeType(filename: string): string {
  const ext = filename.includes('.') ? filename.split('.').pop()!.toLowerCase() : '';
  return MIME[ext] ?? 'application/octet-stream';
}

function filenameFromUrl(url: string): string {
  const path = url.split(/[?#]/)[0] ?? '';
  const last = path.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last) || 'file';
  } catch {
    return last || 'file';
  }
}

function toAttachments(field: FieldDef, value: unknown, _ctx: CellWriteContext, current: unknown): unknown {
  if (!Array.isArray(value)) throw invalidValue(field.name);
  const existing = Array.isArray(current) ? (current as Array<Record<string, unknown>>) : [];
  const out = value.map((item) => {
    if (typeof item !== 'object' || item === null) throw invalidValue(field.name);
    const { id, url, filename } = item as { id?: unknown; url?: unknown; filename?: unknown };
    const kept = typeof id === 'string' ? existing.find((a) => a.id === id) : undefined;
    if (kept) return typeof filename === 'string' ? { ...kept, filename } : kept;
    if (typeof url !== 'string' || url === '') throw invalidValue(field.name);
    const name = typeof filename === 'string' && filename !== '' ? filename : filenameFromUrl(url);
    return { id: newId('att'), url, filename: name, size: 0, type: guessMimeType(name) };
  });
  return out.length ? out : undefined;
}

function oneCollaborator(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  const input = ctx.typecast && typeof value === 'string' ? { email: value } : value;
  const collaborator = toCollaborator(input);
  if (!collaborator) throw invalidValue(field.name);
  return collaborator;
}

function toSingleCollaborator(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  return oneCollaborator(field, value, ctx);
}

function toMultipleCollaborators(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  const list = asList(field, value, ctx, true).map((v) => oneCollaborator(field, v, ctx) as { id: string });
  const unique = list.filter((c, i) => list.findIndex((o) => o.id === c.id) === i);
  return unique.length ? unique : undefined;
}

function toBarcode(field: FieldDef, value: unknown, ctx: CellWriteContext): unknown {
  if (ctx.typecast && (typeof value === 'string' || typeof value === 'number')) {
    return String(value) === '' ? undefined : { text: String(value) };
  }
  if (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string') {
    const { text, type } = value as { text: string; type?: unknown };
    return typeof type === 'string' ? { text, type } : { text };
  }
  throw invalidValue(field.name);
}
