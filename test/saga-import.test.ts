/**
 * File parsing and header mapping for import_file: CSV (delimiter detected),
 * XLSX (a real workbook zipped here), values converted to field types with
 * per-row reasons, mapping errors that name the fields and columns.
 */
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { TableSchema } from '../src/airtable/types.js';
import { ImportError, parseFile, rowsToInputs } from '../src/saga/import.js';

const TABLE: TableSchema = {
  id: 'tblTasks0000000001',
  name: 'Tasks',
  primaryFieldId: 'fld1',
  views: [],
  fields: [
    { id: 'fld1', name: 'Title', type: 'singleLineText' },
    { id: 'fld2', name: 'Hours', type: 'number', options: { precision: 1 } },
    { id: 'fld3', name: 'Done', type: 'checkbox', options: {} },
    {
      id: 'fld4',
      name: 'Status',
      type: 'singleSelect',
      options: { choices: [{ name: 'Todo' }, { name: 'Doing' }] },
    },
    { id: 'fld5', name: 'Created', type: 'createdTime', options: {} },
  ],
} as unknown as TableSchema;

function xlsx(rows: (string | number)[][]): Buffer {
  const cell = (v: string | number, r: number, c: number) => {
    const ref = `${String.fromCharCode(65 + c)}${r + 1}`;
    return typeof v === 'number'
      ? `<c r="${ref}"><v>${v}</v></c>`
      : `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`;
  };
  const sheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows
    .map((row, r) => `<row r="${r + 1}">${row.map((v, c) => cell(v, r, c)).join('')}</row>`)
    .join('')}</sheetData></worksheet>`;
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
      ),
      '_rels/.rels': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
      ),
      'xl/workbook.xml': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Tasks" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
      'xl/_rels/workbook.xml.rels': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
      ),
      'xl/worksheets/sheet1.xml': strToU8(sheet),
    }),
  );
}

describe('import parsing', () => {
  it('reads a semicolon CSV, converts values and reports bad rows by file row', async () => {
    const csv = 'title;hours;done;status\nA;1,5;yes;Todo\nB;lots;no;Doing\nC;2;maybe;Todo\nD;3;x;Nope\n';
    const sheet = await parseFile(Buffer.from(csv), 'csv', {});
    expect(sheet.header).toEqual(['title', 'hours', 'done', 'status']);
    const mapped = rowsToInputs(sheet, TABLE, { typecast: false });
    expect(mapped.inputs.map((i) => i.fields)).toEqual([
      { Title: 'A', Hours: 1.5, Done: true, Status: 'Todo' },
    ]);
    expect(mapped.failures.map((f) => [f.row, f.error])).toEqual([
      [3, expect.stringMatching(/"Hours": "lots" is not a number/)],
      [4, expect.stringMatching(/"Done": "maybe" is not true\/false/)],
      [5, expect.stringMatching(/"Status": "Nope" is not one of "Todo", "Doing"/)],
    ]);
  });

  it('reads an XLSX sheet', async () => {
    const sheet = await parseFile(
      xlsx([
        ['Title', 'Hours'],
        ['From Excel', 4],
        ['Second', 2.5],
      ]),
      'xlsx',
      {},
    );
    const mapped = rowsToInputs(sheet, TABLE, { typecast: false });
    expect(mapped.failures).toEqual([]);
    expect(mapped.inputs.map((i) => i.fields)).toEqual([
      { Title: 'From Excel', Hours: 4 },
      { Title: 'Second', Hours: 2.5 },
    ]);
  });

  it('a mapping that names unknown fields or columns is an error that lists them; computed fields are ignored', async () => {
    const sheet = await parseFile(Buffer.from('Name,Created\nx,2024-01-01\n'), 'csv', {});
    expect(() => rowsToInputs(sheet, TABLE, { typecast: false, mapping: { Name: 'Nope' } })).toThrow(
      /unknown fields "Nope"/,
    );
    expect(() => rowsToInputs(sheet, TABLE, { typecast: false, mapping: { Missing: 'Title' } })).toThrow(
      /columns the file does not have: "Missing"/,
    );
    const mapped = rowsToInputs(sheet, TABLE, {
      typecast: false,
      mapping: { Name: 'Title', Created: 'Created' },
    });
    expect(mapped.ignored_columns).toEqual(['Created']);
    expect(mapped.inputs[0]!.fields).toEqual({ Title: 'x' });
    await expect(parseFile(Buffer.from('x'), 'pdf', {})).rejects.toBeInstanceOf(ImportError);
  });
});
