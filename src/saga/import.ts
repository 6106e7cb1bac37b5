/**
 * Files to records: CSV (csv-parse) and XLSX (read-excel-file) rows become
 * the fields of new records. The first row is the header; headers map to
 * fields by an explicit mapping or by name. Without typecast, text is turned
 * into the field's type here, so a bad value fails its own row with a reason
 * instead of its whole chunk at Airtable.
 */
import type { FieldSchema, TableSchema } from '../airtable/types.js';
import { isComputed } from '../tools/cells.js';
import type { WriteInput } from './airtable-ops.js';

export class ImportError extends Error {
  override name = 'ImportError';
}

export interface ParsedSheet {
  header: string[];
  /** Data rows, each with its 1-based line (row) number in the file. */
  rows: { line: number; cells: unknown[] }[];
}

export interface MappedRows {
  inputs: WriteInput[];
  /** Rows that could not become records, by file row number. */
  failures: { index: number; row: number; error: string }[];
  /** Header → field name actually used. */
  mapping: Record<string, string>;
  ignored_columns: string[];
  /** Input index → file row number. */
  rowOf: Map<number, number>;
}

export async function parseFile(
  content: Buffer,
  extension: string,
  options: { sheet?: string | number; delimiter?: string },
): Promise<ParsedSheet> {
  if (extension === 'xlsx') return parseXlsx(content, options.sheet);
  if (extension === 'csv' || extension === 'tsv' || extension === 'txt') {
    return parseCsv(content, options.delimiter ?? (extension === 'tsv' ? '\t' : undefined));
  }
  throw new ImportError(`Cannot import a .${extension} file: only CSV, TSV and XLSX files are imported.`);
}

async function parseCsv(content: Buffer, delimiter?: string): Promise<ParsedSheet> {
  const { parse } = await import('csv-parse/sync');
  const text = content.toString('utf8').replace(/^\uFEFF/, '');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: delimiter ?? detectDelimiter(text),
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new ImportError(`The CSV could not be read: ${(error as Error).message}`);
  }
  const [first, ...rest] = records;
  if (!first) throw new ImportError('The file is empty: it needs a header row.');
  return {
    header: first.record.map((h) => h.trim()),
    rows: rest.map((r) => ({ line: r.info.lines, cells: r.record })),
  };
}

function detectDelimiter(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  const counts = [',', ';', '\t', '|'].map((d) => [d, line.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0]![1] > 0 ? counts[0]![0] : ',';
}

async function parseXlsx(content: Buffer, sheet?: string | number): Promise<ParsedSheet> {
  const { readSheet } = await import('read-excel-file/node');
  let data: unknown[][];
  try {
    data = (await readSheet(content, sheet ?? 1)) as unknown[][];
  } catch (error) {
    throw new ImportError(`The XLSX file could not be read: ${(error as Error).message}`);
  }
  const [first, ...rest] = data;
  if (!first) throw new ImportError('The sheet is empty: it needs a header row.');
  return {
    header: first.map((h) => (h === null || h === undefined ? '' : String(h).trim())),
    rows: rest
      .map((cells, i) => ({ line: i + 2, cells }))
      .filter((r) => r.cells.some((c) => c !== null && c !== undefined && c !== '')),
  };
}

/** Header → field, by the mapping given or by name (case-insensitive). */
export function mapHeaders(
  header: readonly string[],
  schema: TableSchema,
  mapping?: Record<string, string>,
): { columns: (FieldSchema | undefined)[]; mapping: Record<string, string>; ignored: string[] } {
  const byName = (name: string) => {
    const lower = name.trim().toLowerCase();
    return (
      schema.fields.find((f) => f.id === name || f.name === name) ??
      schema.fields.find((f) => f.name.toLowerCase() === lower)
    );
  };
  if (mapping) {
    const unknown = Object.values(mapping).filter((name) => !byName(name));
    if (unknown.length) {
      const known = schema.fields.map((f) => f.name).join(', ');
      throw new ImportError(
        `mapping names unknown fields ${unknown.map((n) => `"${n}"`).join(', ')}. Fields: ${known}.`,
      );
    }
    const missing = Object.keys(mapping).filter((h) => !header.includes(h));
    if (missing.length) {
      throw new ImportError(
        `mapping names columns the file does not have: ${missing.map((n) => `"${n}"`).join(', ')}. Columns: ${header.join(', ')}.`,
      );
    }
  }
  const used: Record<string, string> = {};
  const ignored: string[] = [];
  const columns = header.map((h) => {
    const target = mapping ? (mapping[h] === undefined ? undefined : byName(mapping[h]!)) : byName(h);
    if (!target || isComputed(target)) {
      if (h) ignored.push(h);
      return undefined;
    }
    used[h] = target.name;
    return target;
  });
  if (!Object.keys(used).length) {
    const known = schema.fields.filter((f) => !isComputed(f)).map((f) => f.name);
    throw new ImportError(
      `No column matches a writable field of "${schema.name}". Columns: ${header.join(', ')}. Fields: ${known.join(', ')}. Pass mapping {"column": "field"}.`,
    );
  }
  return { columns, mapping: used, ignored };
}

export function rowsToInputs(
  sheet: ParsedSheet,
  schema: TableSchema,
  options: { mapping?: Record<string, string>; typecast: boolean },
): MappedRows {
  const { columns, mapping, ignored } = mapHeaders(sheet.header, schema, options.mapping);
  const inputs: WriteInput[] = [];
  const failures: MappedRows['failures'] = [];
  const rowOf = new Map<number, number>();
  sheet.rows.forEach((row, index) => {
    try {
      if (
        row.cells.length > sheet.header.length &&
        row.cells.slice(sheet.header.length).some((c) => c !== '')
      ) {
        throw new ImportError(`has ${row.cells.length} columns, the header has ${sheet.header.length}`);
      }
      const fields: Record<string, unknown> = {};
      columns.forEach((field, i) => {
        if (!field) return;
        const value = convert(row.cells[i], field, options.typecast);
        if (value !== undefined) fields[field.name] = value;
      });
      if (!Object.keys(fields).length) throw new ImportError('has no values in the mapped columns');
      rowOf.set(index, row.line);
      inputs.push({ index, fields });
    } catch (error) {
      failures.push({ index, row: row.line, error: (error as Error).message });
    }
  });
  return { inputs, failures, mapping, ignored_columns: ignored, rowOf };
}

/** "1,234.5", "$1,234", "12%", and a decimal comma with one or two decimals ("1,5", "3,25"). */
function parseNumber(text: string): number {
  const bare = text.replace(/[$€£\s]/g, '').replace(/%$/, '');
  if (/^-?\d+,\d{1,2}$/.test(bare)) return Number(bare.replace(',', '.'));
  return Number(bare.replace(/,/g, ''));
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'x', '✓', 'checked']);
const FALSE = new Set(['false', 'no', 'n', '0', '', 'unchecked']);

/** A cell as the field accepts it; undefined for an empty cell. Throws ImportError for a bad value. */
function convert(cell: unknown, field: FieldSchema, typecast: boolean): unknown {
  if (cell === null || cell === undefined) return undefined;
  if (typeof cell === 'string' && cell.trim() === '') return undefined;
  if (typecast)
    return cell instanceof Date ? cell.toISOString() : typeof cell === 'string' ? cell : String(cell);
  const text = typeof cell === 'string' ? cell.trim() : cell;
  switch (field.type) {
    case 'number':
    case 'currency':
    case 'percent':
    case 'rating':
    case 'duration': {
      const n = typeof text === 'number' ? text : parseNumber(String(text));
      if (!Number.isFinite(n)) throw new ImportError(`"${field.name}": "${String(cell)}" is not a number`);
      return field.type === 'percent' && typeof text === 'string' && text.endsWith('%') ? n / 100 : n;
    }
    case 'checkbox': {
      if (typeof text === 'boolean') return text;
      const lower = String(text).toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      throw new ImportError(`"${field.name}": "${String(cell)}" is not true/false`);
    }
    case 'date':
    case 'dateTime': {
      const date = text instanceof Date ? text : new Date(String(text));
      if (Number.isNaN(date.getTime()))
        throw new ImportError(`"${field.name}": "${String(cell)}" is not a date`);
      return field.type === 'date' ? date.toISOString().slice(0, 10) : date.toISOString();
    }
    case 'multipleSelects':
      return String(text)
        .split(/[,;]/)
        .map((s) => s.trim())
        .filter(Boolean);
    case 'singleSelect': {
      const value = String(text);
      const choices = (field.options?.choices as { name: string }[] | undefined)?.map((c) => c.name);
      if (choices && !choices.includes(value)) {
        throw new ImportError(
          `"${field.name}": "${value}" is not one of ${choices.map((c) => `"${c}"`).join(', ')} (or import with typecast)`,
        );
      }
      return value;
    }
    case 'multipleRecordLinks':
      return String(text)
        .split(/[,;\s]+/)
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text instanceof Date ? text.toISOString() : String(text);
  }
}
