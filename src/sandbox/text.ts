/** `cellFormat=string`: every cell rendered as the text Airtable's UI would show. */
import type { CellReader } from './cell-reader.js';
import { formatDate } from './formula/dateFormat.js';
import type { FieldDef, TableDef } from './model.js';
import { isValidTimeZone } from './params.js';
import type { StoredRecord } from './store.js';

type Render = (value: unknown, field: FieldDef, reader: CellReader) => string;

const DATE_FORMATS: Record<string, string> = { l: 'M/D/YYYY', LL: 'MMMM D, YYYY' };

function dateFormatOf(field: FieldDef): string {
  const options =
    (field.options?.result as { options?: Record<string, unknown> } | undefined)?.options ?? field.options;
  const fmt = (options?.dateFormat as { format?: string } | undefined)?.format ?? 'l';
  return DATE_FORMATS[fmt] ?? fmt;
}

function timeFormatOf(field: FieldDef): string {
  const options =
    (field.options?.result as { options?: Record<string, unknown> } | undefined)?.options ?? field.options;
  const fmt = (options?.timeFormat as { format?: string } | undefined)?.format ?? 'h:mma';
  return fmt;
}

function precisionOf(field: FieldDef, fallback: number | undefined): number | undefined {
  const p = field.options?.precision;
  return typeof p === 'number' ? p : fallback;
}

/** Numbers with the request locale's grouping and the field's precision (e.g. 85,000.00 in en-US). */
function fixed(n: number, precision: number | undefined, locale: string | undefined): string {
  try {
    const digits =
      precision === undefined
        ? { maximumFractionDigits: 10 }
        : {
            minimumFractionDigits: precision,
            maximumFractionDigits: precision,
          };
    return new Intl.NumberFormat(locale ?? 'en-US', digits).format(n);
  } catch {
    return precision === undefined ? String(n) : n.toFixed(precision);
  }
}

function duration(seconds: number, format: string): string {
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(seconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  const mm = String(m).padStart(2, '0');
  if (format === 'h:mm') return `${sign}${h}:${mm}`;
  return `${sign}${h}:${mm}:${s.toFixed(format.split('.')[1]?.length ?? 0).padStart(2, '0')}`;
}

function joinList(value: unknown, each: (item: unknown) => string): string {
  return Array.isArray(value) ? value.map(each).join(', ') : each(value);
}

function collaboratorName(v: unknown): string {
  const c = v as { name?: string; email?: string; id?: string };
  return c.name ?? c.email ?? c.id ?? '';
}

function genericText(v: unknown): string {
  if (Array.isArray(v)) return v.map(genericText).join(', ');
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if ('specialValue' in o) return String(o.specialValue);
    if ('error' in o) return String(o.error);
    if ('name' in o || 'email' in o) return collaboratorName(o);
    if ('text' in o) return String(o.text);
    if ('label' in o) return String(o.label);
    return JSON.stringify(o);
  }
  return String(v);
}

const RENDER: Record<string, Render> = {
  number: (v, f, r) => fixed(v as number, precisionOf(f, undefined), r.opts.userLocale),
  currency: (v, f, r) => {
    const n = v as number;
    const text = `${String(f.options?.symbol ?? '$')}${fixed(Math.abs(n), precisionOf(f, 2), r.opts.userLocale)}`;
    return n < 0 ? `-${text}` : text;
  },
  percent: (v, f, r) => `${fixed((v as number) * 100, precisionOf(f, 0), r.opts.userLocale)}%`,
  duration: (v, f) => duration(v as number, String(f.options?.durationFormat ?? 'h:mm')),
  checkbox: () => 'checked',
  multipleRecordLinks: (v, f, reader) => reader.linkNames(f, v as string[]).join(', '),
  singleCollaborator: collaboratorName,
  multipleCollaborators: (v) => joinList(v, collaboratorName),
  multipleAttachments: (v) =>
    joinList(v, (a) => `${(a as { filename?: string }).filename} (${(a as { url?: string }).url})`),
  date: (v, f) => formatDate(new Date(`${String(v)}T00:00:00.000Z`), dateFormatOf(f), 'UTC'),
  dateTime: dateTimeText,
  createdTime: dateTimeText,
  lastModifiedTime: dateTimeText,
};

/** A dateTime field shows its own time zone unless it is set to the viewer's ("client"). */
function zoneOf(field: FieldDef, reader: CellReader): string {
  const options =
    (field.options?.result as { options?: Record<string, unknown> } | undefined)?.options ?? field.options;
  const zone = options?.timeZone;
  if (typeof zone !== 'string' || zone === 'client') return reader.zone;
  if (zone.toLowerCase() === 'utc') return 'UTC';
  return isValidTimeZone(zone) ? zone : reader.zone;
}

function dateTimeText(v: unknown, f: FieldDef, reader: CellReader): string {
  return formatDate(new Date(String(v)), `${dateFormatOf(f)} ${timeFormatOf(f)}`, zoneOf(f, reader));
}

export function cellText(
  reader: CellReader,
  table: TableDef,
  rec: StoredRecord,
  field: FieldDef,
): string | undefined {
  const value = reader.cell(table, rec, field);
  if (value === undefined || value === null || value === '' || value === false) return undefined;
  const render = RENDER[field.type];
  const text = render ? render(value, field, reader) : genericText(value);
  return text === '' ? undefined : text;
}
