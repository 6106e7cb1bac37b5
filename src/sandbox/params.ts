/**
 * Lenient decoding of Airtable's query-string encodings: `x[]`, `x`, `x[0]` (brackets encoded or raw;
 * URLSearchParams decodes both), `sort[i][field]`, and booleans as true/false/1/0.
 */
import { invalidRequest } from './errors.js';

/** All values of a list parameter in order of appearance; undefined when the key is absent. */
export function listParam(query: URLSearchParams, name: string): string[] | undefined {
  const indexed = new RegExp(`^${name}\\[\\d*\\]$`);
  const out: string[] = [];
  let present = false;
  for (const [key, value] of query) {
    if (key !== name && !indexed.test(key)) continue;
    present = true;
    out.push(value);
  }
  return present ? out : undefined;
}

export interface SortSpec {
  field: string;
  direction: 'asc' | 'desc';
}

const SORT_KEY = /^sort\[(\d+)\]\[(field|direction)\]$/;

export function sortParam(query: URLSearchParams): SortSpec[] | undefined {
  const byIndex = new Map<number, { field?: string; direction?: string }>();
  for (const [key, value] of query) {
    const m = SORT_KEY.exec(key);
    if (!m) continue;
    const entry = byIndex.get(Number(m[1])) ?? {};
    entry[m[2] as 'field' | 'direction'] = value;
    byIndex.set(Number(m[1]), entry);
  }
  if (byIndex.size === 0) return undefined;
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => sortSpec(e));
}

/** Validates one `{field, direction}` sort entry from a query or a JSON body. */
export function sortSpec(entry: unknown): SortSpec {
  if (typeof entry !== 'object' || entry === null) throw invalidRequest();
  const { field, direction } = entry as { field?: unknown; direction?: unknown };
  if (typeof field !== 'string' || field === '') throw invalidRequest();
  if (direction !== undefined && direction !== 'asc' && direction !== 'desc') throw invalidRequest();
  return { field, direction: direction ?? 'asc' };
}

/** true/false/1/0 as booleans or strings; anything else is a 422. */
export function boolParam(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  throw invalidRequest();
}

/** A non-negative integer from a number or numeric string; undefined when absent. */
export function intParam(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidRequest();
  return n;
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function isValidLocale(locale: string): boolean {
  try {
    return Intl.getCanonicalLocales(locale).length === 1;
  } catch {
    return false;
  }
}
