/**
 * Compact text for the model and the response budget. Tool results go into a
 * model's context window, so text is dense (one line per record, compact
 * JSON for cell values) and every list is cut to the budget with a way to
 * continue, rather than overflowing the client's limit.
 */
import { ID_BODY, RECORD_ID_PATTERN } from '../airtable/ids.js';
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

/**
 * Record lists as a table: field names once in a `columns:` line, then one
 * record per line with its cells in column order, separated by "|" (no
 * padding: a 100-record page has over a thousand separators, and text with
 * edge spaces is quoted anyway, so the bare bar is unambiguous). A
 * reader of the text alone can take every value back exactly:
 * - text is written as it is, unless it could be misread (empty, edge spaces,
 *   a "|" or line break, looks like a number/true/false/null, or starts like
 *   JSON); then it is a JSON string;
 * - numbers and booleans as JSON; a list of plain text as `[a, b]`; other
 *   lists and objects as compact JSON;
 * - an empty cell is a field without a value (Airtable omits those), and
 *   trailing empty cells are left off;
 * - a linked record whose name is known (expand_links) reads `recXXXXXXXXXXXXXX Name`.
 */
export const CELL_SEPARATOR = '|';
export const TABLE_LEGEND =
  'one record per line, cells in column order between |; "quoted" text is JSON, [a, b] a list, an empty cell no value';

const MISREADABLE_TEXT = /^$|^\s|\s$|[|\n\r\t]|^["[{]|^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;
/** List items written bare inside `[a, b]`: no separators or brackets of their own. */
const LIST_ITEM_BREAKERS = /[,[\]]/;
const LINKED_ID = RECORD_ID_PATTERN;
/** Plain text that would read like an expanded link ("recXXXXXXXXXXXXXX Name") is written as JSON. */
const NAMED_LINK = new RegExp(`^rec${ID_BODY} `);

/** Primary values of linked records by record id (see links.ts); absent ids print as bare ids. */
export type LinkNames = ReadonlyMap<string, string>;

export function textCell(value: string): string {
  return MISREADABLE_TEXT.test(value) ? compactJson(value) : value;
}

function listItem(value: string, links: LinkNames | undefined): string | undefined {
  const name = LINKED_ID.test(value) ? links?.get(value) : undefined;
  if (name !== undefined) {
    const safe = !MISREADABLE_TEXT.test(name) && !LIST_ITEM_BREAKERS.test(name);
    return `${value} ${safe ? name : compactJson(name)}`;
  }
  const misread = MISREADABLE_TEXT.test(value) || LIST_ITEM_BREAKERS.test(value) || NAMED_LINK.test(value);
  return misread ? undefined : value;
}

/** One cell as the table writes it; '' for no value. */
export function tableCell(value: unknown, links?: LinkNames): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return textCell(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    const items = value.map((v) => listItem(v as string, links));
    if (items.every((item) => item !== undefined)) return `[${items.join(', ')}]`;
  }
  return compactJson(value);
}

/**
 * The columns of a record list: every field name that occurs, each new one
 * placed after the field it follows in its record, so the table keeps the
 * order Airtable returns fields in (the table's field order).
 */
export function recordColumns(records: readonly Pick<AirtableRecord, 'fields'>[]): string[] {
  const columns: string[] = [];
  const known = new Set<string>();
  for (const record of records) {
    let after = -1;
    for (const name of Object.keys(record.fields)) {
      if (known.has(name)) {
        after = columns.indexOf(name);
        continue;
      }
      columns.splice(after + 1, 0, name);
      known.add(name);
      after += 1;
    }
  }
  return columns;
}

/** The `columns:` line that heads a record table. */
export function tableHeader(columns: readonly string[]): string {
  return `columns: ${['id', ...columns].map(textCell).join(CELL_SEPARATOR)}`;
}

/** One record as a table row under `columns`. */
export function recordRow(
  record: Pick<AirtableRecord, 'id' | 'fields'>,
  columns: readonly string[],
  links?: LinkNames,
): string {
  const cells = [record.id, ...columns.map((name) => tableCell(record.fields[name], links))];
  while (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
  return cells.join(CELL_SEPARATOR);
}

/** Header, legend and rows of a record list; no lines at all for an empty list. */
export function recordTable(
  records: readonly Pick<AirtableRecord, 'id' | 'fields'>[],
  links?: LinkNames,
): string[] {
  if (!records.length) return [];
  const columns = recordColumns(records);
  return [tableHeader(columns), `(${TABLE_LEGEND})`, ...records.map((r) => recordRow(r, columns, links))];
}

/** A line function for fitToBudget that measures rows as recordTable writes them. */
export function rowLine(
  records: readonly Pick<AirtableRecord, 'id' | 'fields'>[],
  links?: LinkNames,
): (record: Pick<AirtableRecord, 'id' | 'fields'>) => string {
  const columns = recordColumns(records);
  return (record) => recordRow(record, columns, links);
}
