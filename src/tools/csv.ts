/**
 * RFC 4180 CSV: rows end with CRLF; a field is quoted when it holds a comma,
 * a double quote, CR or LF, or leading/trailing spaces (which spreadsheet
 * importers would otherwise trim); quotes inside are doubled.
 */
import type { AirtableRecord } from '../airtable/types.js';
import { cellText } from './cells.js';

export const CRLF = '\r\n';

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(cells: readonly string[]): string {
  return cells.map(csvField).join(',') + CRLF;
}

/** The header row: `Record ID,<fields…>,Created Time`, as the original export had it. */
export function csvHeader(fieldNames: readonly string[]): string {
  return csvRow(['Record ID', ...fieldNames, 'Created Time']);
}

/** One record as a CSV row; cells rendered by cellText (lists joined with ", ", attachments as URLs, …). */
export function recordRow(record: AirtableRecord, fieldNames: readonly string[]): string {
  return csvRow([record.id, ...fieldNames.map((name) => cellText(record.fields[name])), record.createdTime]);
}
