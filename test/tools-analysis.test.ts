/**
 * Analysis tools (analyze_table_data, find_duplicates, export_table_csv,
 * sync_tables) through a real MCP client and server against the sandbox's
 * demo and archive bases over HTTP.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirtableRecord, FieldSchema } from '../src/airtable/index.js';
import { csvField } from '../src/tools/csv.js';
import { cellKey, normalizeText } from '../src/tools/normalize.js';
import { sameValue, writableValue } from '../src/tools/sync-plan.js';
import { ARCHIVE_BASE, DEMO_BASE, type Harness, startHarness, textOf } from './helpers/harness.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/** A tiny RFC 4180 parser: quoted fields may hold commas, CR/LF and doubled quotes; rows end with CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === '') {
      const end = closingQuote(text, i + 1);
      field = text.slice(i + 1, end).replaceAll('""', '"');
      i = end + 1;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`bare line break outside quotes at ${i}`);
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length) throw new Error('last row does not end with CRLF');
  return rows;
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] !== '"') continue;
    if (text[i + 1] === '"') i++;
    else return i;
  }
  throw new Error('unterminated quote');
}

/** What a cell should look like in the CSV, computed independently of the tool. */
function expectedCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(expectedCell).join(', ');
  return String(value);
}

function resourceOf(result: CallToolResult): { uri: string; mimeType?: string; text: string } | undefined {
  const block = result.content.find((c) => c.type === 'resource');
  return block?.type === 'resource'
    ? (block.resource as { uri: string; mimeType?: string; text: string })
    : undefined;
}

async function allRecords(h: Harness, base: string, table: string): Promise<AirtableRecord[]> {
  return (await h.airtable.listRecords(base, table, { maxRecords: 10_000 })).records;
}

const syncArgs = (extra: Obj = {}) => ({
  source_base_id: DEMO_BASE,
  source_table_id: 'Projects',
  target_base_id: ARCHIVE_BASE,
  target_table_id: 'Projects',
  key_field: 'Name',
  ...extra,
});

interface SyncOut {
  fields: string[];
  complete: boolean;
  plan: {
    creates: number;
    updates: number;
    deletes: number;
    unchanged: number;
    target_only: number;
    duplicate_keys: number;
  };
  samples: {
    creates: Obj[];
    updates: { key: string; changes: Record<string, { from: unknown; to: unknown }> }[];
    deletes: Obj[];
  };
  duplicate_keys: { key: string; source: number; target: number }[];
  applied?: { created: number; updated: number; deleted: number; failed: number; failures: Obj[] };
}

// ---------------------------------------------------------------------------------------------------
// Read-only tools on one shared sandbox
// ---------------------------------------------------------------------------------------------------

describe('analysis tools (read)', () => {
  let h: Harness;
  let tasks: AirtableRecord[];
  beforeAll(async () => {
    h = await startHarness();
    tasks = await allRecords(h, DEMO_BASE, 'Tasks');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('annotates the four tools', async () => {
    const { tools } = await h.client.listTools();
    const hints = (name: string) => {
      const a = tools.find((t) => t.name === name)?.annotations;
      return [a?.readOnlyHint, a?.destructiveHint, a?.idempotentHint];
    };
    expect(hints('analyze_table_data')).toEqual([true, false, true]);
    expect(hints('find_duplicates')).toEqual([true, false, true]);
    expect(hints('export_table_csv')).toEqual([true, false, true]);
    expect(hints('sync_tables')).toEqual([false, true, true]);
  });

  describe('analyze_table_data', () => {
    type FieldOut = {
      name: string;
      type: string;
      filled: number;
      empty: number;
      fill_rate: number;
      numbers?: { min: number; max: number; mean: number; median: number; zeros: number };
      choices?: { value: string; count: number }[];
      true_count?: number;
      dates?: { min: string; max: string };
      items_per_record?: { mean: number; max: number };
    };
    type AnalyzeOut = {
      records_analyzed: number;
      sampled: boolean;
      fields: FieldOut[];
      data_quality: string[];
      truncated: boolean;
    };

    it('profiles the whole Tasks table', async () => {
      const out = await h.ok<AnalyzeOut>('analyze_table_data', { table_id: 'Tasks', sample_size: 1000 });
      expect(out.records_analyzed).toBe(160);
      expect(out.sampled).toBe(false);
      expect(out.truncated).toBe(false);
      const schema = (await h.airtable.getBaseSchema(DEMO_BASE)).find((t) => t.name === 'Tasks')!;
      expect(out.fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
      const field = (name: string) => out.fields.find((f) => f.name === name)!;
      for (const f of out.fields) {
        const filled = tasks.filter((r) => r.fields[f.name] !== undefined).length;
        expect(f.filled, f.name).toBe(filled);
        expect(f.empty, f.name).toBe(160 - filled);
        expect(f.fill_rate, f.name).toBeCloseTo(filled / 160, 3);
      }
      expect(field('Title').fill_rate).toBe(1);
    });

    it('computes number statistics like an independent computation', async () => {
      const out = await h.ok<AnalyzeOut>('analyze_table_data', { table_id: 'Tasks', sample_size: 1000 });
      const hours = tasks
        .map((r) => r.fields['Estimate Hours'])
        .filter((v): v is number => typeof v === 'number');
      const sorted = [...hours].sort((a, b) => a - b);
      const mid = sorted.length / 2;
      const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      const stats = out.fields.find((f) => f.name === 'Estimate Hours')!.numbers!;
      expect(stats.min).toBe(sorted[0]);
      expect(stats.max).toBe(sorted[sorted.length - 1]);
      expect(stats.mean).toBeCloseTo(hours.reduce((a, b) => a + b, 0) / hours.length, 2);
      expect(stats.median).toBeCloseTo(median, 3);
      expect(stats.zeros).toBe(3);
      expect(out.fields.find((f) => f.name === 'Rating')!.numbers!.max).toBeLessThanOrEqual(5);
    });

    it('reports select distributions, checkboxes, dates and links', async () => {
      const out = await h.ok<AnalyzeOut>('analyze_table_data', { table_id: 'Tasks', sample_size: 1000 });
      const field = (name: string) => out.fields.find((f) => f.name === name)!;
      const status = field('Status');
      expect(status.choices!.reduce((n, c) => n + c.count, 0)).toBe(status.filled);
      expect(status.choices!.map((c) => c.count)).toEqual(
        [...status.choices!.map((c) => c.count)].sort((a, b) => b - a),
      );
      const labels = field('Labels');
      const labelTotal = tasks.reduce(
        (n, r) => n + ((r.fields.Labels as string[] | undefined)?.length ?? 0),
        0,
      );
      expect(labels.choices!.reduce((n, c) => n + c.count, 0)).toBe(labelTotal);
      expect(labels.items_per_record!.mean).toBeCloseTo(labelTotal / 160, 2);
      const done = tasks.filter((r) => r.fields.Completed === true).length;
      expect(field('Completed').true_count).toBe(done);
      const due = tasks
        .map((r) => r.fields.Due)
        .filter((v): v is string => typeof v === 'string')
        .sort();
      expect(field('Due').dates).toEqual({ min: due[0], max: due[due.length - 1] });
      const links = tasks.reduce((n, r) => n + ((r.fields.Assignee as string[] | undefined)?.length ?? 0), 0);
      expect(field('Assignee').items_per_record!.mean).toBeCloseTo(links / 160, 2);
    });

    it('lists data-quality findings: near-duplicates, zeros, empties, primary', async () => {
      const out = await h.ok<AnalyzeOut>('analyze_table_data', { table_id: 'Tasks', sample_size: 1000 });
      const findings = out.data_quality.join('\n');
      expect(findings).toMatch(/Title: 10 values in 5 groups differ only by case\/whitespace/);
      expect(findings).toContain('Estimate Hours: 3 zeros');
      expect(findings).toContain('Title (primary field): filled in all 160 records');
      expect(findings).toMatch(/Notes: \d+% empty/);
      const people = await h.ok<AnalyzeOut>('analyze_table_data', { table_id: 'People' });
      const text = people.data_quality.join('\n');
      expect(text).toMatch(/Name: 6 values in 3 groups differ only by case/);
      expect(text).toMatch(/Email: 10% empty \(4 of 40\)/);
      expect(text).toMatch(/Email: 6 values in 3 groups differ only by case/);
    });

    it('says when it sampled part of the table', async () => {
      const result = await h.call('analyze_table_data', { table_id: 'Tasks', sample_size: 50 });
      const out = result.structuredContent as unknown as AnalyzeOut;
      expect(out.records_analyzed).toBe(50);
      expect(out.sampled).toBe(true);
      expect(textOf(result)).toMatch(/first 50 records analysed; the table has more/);
    });

    it('analyses only the requested fields', async () => {
      const out = await h.ok<AnalyzeOut>('analyze_table_data', {
        table_id: 'Tasks',
        fields: ['status', 'Rating'],
      });
      expect(out.fields.map((f) => f.name)).toEqual(['Status', 'Rating']);
    });

    it('rejects unknown tables and fields and bad base ids', async () => {
      expect(await h.fails('analyze_table_data', { table_id: 'Nope' })).toMatch(/No table "Nope".*Tasks/);
      expect(await h.fails('analyze_table_data', { table_id: 'Tasks', fields: ['Nope'] })).toMatch(
        /Unknown field.*"Nope"/,
      );
      expect(await h.fails('analyze_table_data', { base_id: 'appBAD', table_id: 'Tasks' })).toMatch(
        /not a base id/,
      );
      expect(await h.fails('analyze_table_data', { table_id: 'Tasks', sample_size: 0 })).toMatch(
        /sample_size/,
      );
    });
  });

  describe('find_duplicates', () => {
    type Group = { key: string; count: number; records: { id: string; values: Obj }[] };
    type DupOut = {
      records_scanned: number;
      more_records: boolean;
      skipped_empty: number;
      duplicate_groups: number;
      duplicate_records: number;
      groups: Group[];
      truncated: boolean;
    };

    it('finds the near-duplicate people by name, keeping the original spellings', async () => {
      const out = await h.ok<DupOut>('find_duplicates', { table_id: 'People', fields: ['Name'] });
      expect(out.records_scanned).toBe(40);
      expect(out.more_records).toBe(false);
      expect(out.groups.map((g) => g.key).sort()).toEqual(['aisha khan', 'james wilson', 'maria garcia']);
      expect(out.duplicate_records).toBe(6);
      const maria = out.groups.find((g) => g.key === 'maria garcia')!;
      expect(maria.records.map((r) => r.values.Name).sort()).toEqual([' maria garcia', 'Maria Garcia']);
      for (const r of maria.records) expect(r.id).toMatch(/^rec/);
    });

    it('finds the near-duplicate task titles', async () => {
      const out = await h.ok<DupOut>('find_duplicates', { table_id: 'Tasks', fields: ['Title'] });
      expect(out.duplicate_groups).toBe(5);
      for (const g of out.groups) {
        expect(g.count).toBe(2);
        const [a, b] = g.records.map((r) => String(r.values.Title));
        expect(a).not.toBe(b);
        expect(a!.trim().toLowerCase()).toBe(b!.trim().toLowerCase());
      }
    });

    it('matches on several fields together', async () => {
      const out = await h.ok<DupOut>('find_duplicates', { table_id: 'People', fields: ['Name', 'Role'] });
      expect(out.duplicate_groups).toBe(3);
      expect(out.groups[0]!.records[0]!.values).toHaveProperty('Role');
    });

    it('skips empty values unless ignore_empty is false', async () => {
      const skip = await h.ok<DupOut>('find_duplicates', { table_id: 'People', fields: ['Email'] });
      expect(skip.skipped_empty).toBe(4);
      expect(skip.duplicate_groups).toBe(3);
      const keep = await h.ok<DupOut>('find_duplicates', {
        table_id: 'People',
        fields: ['Email'],
        ignore_empty: false,
      });
      expect(keep.skipped_empty).toBe(0);
      expect(keep.duplicate_groups).toBe(4);
      // Largest group first: the four people without an email.
      expect(keep.groups[0]).toMatchObject({ key: '', count: 4 });
    });

    it('rejects unknown fields and an empty field list', async () => {
      expect(await h.fails('find_duplicates', { table_id: 'People', fields: ['Nmae'] })).toMatch(
        /Unknown field.*"Nmae"/,
      );
      expect(await h.fails('find_duplicates', { table_id: 'People', fields: [] })).toMatch(/fields/);
      expect(await h.fails('find_duplicates', { table_id: 'Nope', fields: ['Name'] })).toMatch(
        /No table "Nope"/,
      );
    });
  });

  describe('export_table_csv', () => {
    type ExportOut = {
      row_count: number;
      columns: string[];
      chars: number;
      truncated: boolean;
      offset?: string;
      preview: string;
      csv?: string;
      resource_uri?: string;
    };

    it('returns a large export as an embedded text/csv resource and keeps the text small', async () => {
      const result = await h.call('export_table_csv', { table_id: 'Tasks' });
      expect(result.isError).toBeFalsy();
      const out = result.structuredContent as unknown as ExportOut;
      const resource = resourceOf(result)!;
      expect(resource.mimeType).toBe('text/csv');
      expect(resource.uri).toMatch(/^airtable:\/\/appSandboxDemo001\/tbl\w+\/export\.csv$/);
      expect(out.resource_uri).toBe(resource.uri);
      expect(out.csv).toBeUndefined();
      expect(out.row_count).toBe(160);
      expect(out.truncated).toBe(false);
      expect(textOf(result).length).toBeLessThan(3000);
      expect(resource.text.length).toBe(out.chars);
      expect(resource.text.length).toBeGreaterThan(8000);
      expect(resource.text.startsWith(out.preview)).toBe(true);
    });

    it('round-trips through an RFC 4180 parser: quotes, commas, newlines, emoji', async () => {
      const result = await h.call('export_table_csv', { table_id: 'Tasks' });
      const rows = parseCsv(resourceOf(result)!.text);
      const schema = (await h.airtable.getBaseSchema(DEMO_BASE)).find((t) => t.name === 'Tasks')!;
      const names = schema.fields.map((f) => f.name);
      expect(rows[0]).toEqual(['Record ID', ...names, 'Created Time']);
      expect(rows).toHaveLength(161);
      const byId = new Map(tasks.map((r) => [r.id, r]));
      for (const row of rows.slice(1)) {
        const record = byId.get(row[0]!)!;
        expect(row.at(-1)).toBe(record.createdTime);
        for (const [i, name] of names.entries())
          expect(row[i + 1], name).toBe(expectedCell(record.fields[name]));
      }
      const notes = rows.slice(1).map((r) => r[names.indexOf('Notes') + 1]);
      expect(notes.some((n) => n?.includes('\n') && n.includes('"'))).toBe(true);
      expect(notes.some((n) => /\p{Extended_Pictographic}/u.test(n ?? ''))).toBe(true);
    });

    it('quotes values with leading/trailing spaces and returns small exports inline', async () => {
      const result = await h.call('export_table_csv', {
        table_id: 'People',
        fields: ['Name', 'Email'],
        filter_by_formula: "FIND('garcia', LOWER({Name}))",
      });
      const out = result.structuredContent as unknown as ExportOut;
      expect(resourceOf(result)).toBeUndefined();
      expect(out.row_count).toBe(2);
      expect(out.csv).toBeDefined();
      expect(textOf(result)).toContain(out.csv!);
      expect(out.csv).toContain('," maria garcia",');
      expect(out.csv!.endsWith('\r\n')).toBe(true);
      expect(parseCsv(out.csv!)[0]).toEqual(['Record ID', 'Name', 'Email', 'Created Time']);
      expect(out.columns).toEqual(['Record ID', 'Name', 'Email', 'Created Time']);
    });

    it('uses the requested column order, views and formulas', async () => {
      const out = await h.ok<ExportOut>('export_table_csv', {
        table_id: 'Tasks',
        fields: ['Notes', 'title'],
        filter_by_formula: "{Status}='Blocked'",
      });
      const rows = parseCsv(out.csv ?? '');
      expect(rows[0]).toEqual(['Record ID', 'Notes', 'Title', 'Created Time']);
      expect(out.row_count).toBe(tasks.filter((r) => r.fields.Status === 'Blocked').length);
      const view = await h.ok<ExportOut>('export_table_csv', {
        table_id: 'Projects',
        view: 'Active projects',
        fields: ['Name'],
      });
      const projects = await allRecords(h, DEMO_BASE, 'Projects');
      expect(view.row_count).toBe(projects.filter((r) => r.fields.Status === 'Active').length);
    });

    it('says when max_records stopped it and continues exactly with offset', async () => {
      const first = await h.ok<ExportOut>('export_table_csv', {
        table_id: 'Tasks',
        fields: ['Title'],
        max_records: 70,
      });
      expect(first.truncated).toBe(true);
      expect(first.offset).toBeTruthy();
      const second = await h.ok<ExportOut>('export_table_csv', {
        table_id: 'Tasks',
        fields: ['Title'],
        max_records: 1000,
        offset: first.offset,
      });
      expect(second.truncated).toBe(false);
      expect(second.offset).toBeUndefined();
      const ids = async (o: ExportOut, r?: CallToolResult) =>
        parseCsv(o.csv ?? resourceOf(r!)!.text)
          .slice(1)
          .map((row) => row[0]);
      const secondResult = await h.call('export_table_csv', {
        table_id: 'Tasks',
        fields: ['Title'],
        offset: first.offset,
      });
      expect([...(await ids(first)), ...(await ids(second, secondResult))]).toEqual(tasks.map((r) => r.id));
      // A token that starts inside a page (as a size cut produces) skips to the exact record.
      const mid = await h.ok<ExportOut>('export_table_csv', {
        table_id: 'Tasks',
        fields: ['Title'],
        max_records: 3,
        offset: '|5',
      });
      expect(await ids(mid)).toEqual(tasks.slice(5, 8).map((r) => r.id));
    });

    it('rejects unknown fields, tables and bad offsets', async () => {
      expect(await h.fails('export_table_csv', { table_id: 'Tasks', fields: ['Nope'] })).toMatch(
        /Unknown field/,
      );
      expect(await h.fails('export_table_csv', { table_id: 'Nope' })).toMatch(/No table "Nope"/);
      expect(await h.fails('export_table_csv', { table_id: 'Tasks', offset: 'not a token!' })).toMatch(
        /offset/,
      );
      expect(await h.fails('export_table_csv', { table_id: 'Tasks', max_records: 100_001 })).toMatch(
        /max_records/,
      );
    });
  });

  describe('sync_tables (dry run)', () => {
    it('plans creates, the 5 seeded updates, and keeps archive-only rows', async () => {
      const result = await h.call('sync_tables', syncArgs());
      const out = result.structuredContent as unknown as SyncOut;
      expect(out.complete).toBe(true);
      expect(out.fields).toEqual([
        'Name',
        'Status',
        'Priority',
        'Budget',
        'Start Date',
        'Due Date',
        'Tags',
        'Description',
        'Archived',
        'Progress',
      ]);
      expect(out.plan).toMatchObject({ creates: 15, updates: 5, deletes: 0, unchanged: 5, target_only: 5 });
      expect(out.samples.creates).toHaveLength(5);
      const website = out.samples.updates.find((u) => u.key === 'Website Redesign')!;
      expect(website.changes).toEqual({
        Status: { from: 'Planning', to: 'Active' },
        Budget: { from: 80000, to: 85000 },
      });
      expect(out.applied).toBeUndefined();
      expect(textOf(result)).toContain('Nothing was written');
      expect((await allRecords(h, ARCHIVE_BASE, 'Projects')).length).toBe(15);
    });

    it('plans deletes only with delete_missing', async () => {
      const out = await h.ok<SyncOut>('sync_tables', syncArgs({ delete_missing: true }));
      expect(out.plan.deletes).toBe(5);
      expect(out.samples.deletes.map((d) => d.key)).toContain('Legacy CRM Sunset');
    });

    it('syncs only the requested fields', async () => {
      const out = await h.ok<SyncOut>('sync_tables', syncArgs({ fields: ['Budget'] }));
      expect(out.fields).toEqual(['Name', 'Budget']);
      expect(out.plan.updates).toBe(5);
      expect(Object.keys(out.samples.updates[0]!.changes)).toEqual(['Budget']);
    });

    it('rejects an unknown key field, unknown tables and fields, bad base ids and the same table twice', async () => {
      expect(await h.fails('sync_tables', syncArgs({ key_field: 'Nope' }))).toMatch(/Unknown field.*"Nope"/);
      expect(await h.fails('sync_tables', syncArgs({ target_table_id: 'Nope' }))).toMatch(
        /No table "Nope".*Log/,
      );
      expect(await h.fails('sync_tables', syncArgs({ source_base_id: 'appBAD' }))).toMatch(/not a base id/);
      expect(await h.fails('sync_tables', syncArgs({ fields: ['Owner'] }))).toMatch(
        /Cannot sync these fields: "Owner" is not in both tables/,
      );
      expect(
        await h.fails('sync_tables', syncArgs({ target_base_id: DEMO_BASE, target_table_id: 'Projects' })),
      ).toMatch(/same table/);
      expect(
        await h.fails('sync_tables', syncArgs({ key_field: 'Task Count', target_table_id: 'Projects' })),
      ).toMatch(/Unknown field/);
    });

    it('refuses to apply a plan built on a partial read', async () => {
      const dry = await h.ok<SyncOut>('sync_tables', syncArgs({ max_records: 10 }));
      expect(dry.complete).toBe(false);
      expect(await h.fails('sync_tables', syncArgs({ max_records: 10, dry_run: false }))).toMatch(
        /max_records/,
      );
      expect((await allRecords(h, ARCHIVE_BASE, 'Projects')).length).toBe(15);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Budgets and schema changes, each on a sandbox of its own
// ---------------------------------------------------------------------------------------------------

describe('analysis tools under a small response budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ server: { maxResponseTokens: 1000 } });
  });
  afterAll(async () => {
    await h?.close();
  });
  const budget = 4000;

  it('analyze_table_data cuts fields and findings to fit', async () => {
    const result = await h.call('analyze_table_data', { table_id: 'Tasks', sample_size: 1000 });
    expect(textOf(result).length).toBeLessThanOrEqual(budget);
    expect(JSON.stringify(result.structuredContent).length).toBeLessThanOrEqual(budget);
  });

  it('find_duplicates marks cut groups as truncated', async () => {
    const result = await h.call('find_duplicates', {
      table_id: 'Tasks',
      fields: ['Notes'],
      ignore_empty: false,
    });
    const out = result.structuredContent as {
      truncated: boolean;
      duplicate_groups: number;
      groups: unknown[];
    };
    expect(out.truncated).toBe(true);
    expect(out.groups.length).toBeLessThan(out.duplicate_groups);
    expect(textOf(result).length).toBeLessThanOrEqual(budget);
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(budget);
  });

  it('export_table_csv attaches even modest exports when the budget is small', async () => {
    const result = await h.call('export_table_csv', { table_id: 'Projects', fields: ['Name', 'Status'] });
    expect(resourceOf(result)).toBeDefined();
    expect(textOf(result).length).toBeLessThanOrEqual(budget / 2);
  });
});

describe('analyze_table_data with a field nobody filled', () => {
  it('lists it from the schema and reports it', async () => {
    const h = await startHarness();
    try {
      const table = (await h.airtable.getBaseSchema(DEMO_BASE)).find((t) => t.name === 'Tasks')!;
      await h.airtable.createField(DEMO_BASE, table.id, { name: 'Reviewer Notes', type: 'singleLineText' });
      const out = await h.ok<{ fields: { name: string; filled: number }[]; data_quality: string[] }>(
        'analyze_table_data',
        { table_id: 'Tasks', sample_size: 1000 },
      );
      expect(out.fields.find((f) => f.name === 'Reviewer Notes')).toMatchObject({ filled: 0 });
      expect(out.data_quality).toContain('Reviewer Notes: never filled (empty in all 160 records)');
    } finally {
      await h.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// sync_tables writes, each scenario on a fresh sandbox
// ---------------------------------------------------------------------------------------------------

describe('sync_tables (apply)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('applies the plan with progress; a second dry run finds nothing to do', async () => {
    // A source-only select option (created in the target by typecast) and a value cleared in the source.
    await h.airtable.createRecord(
      DEMO_BASE,
      'Projects',
      { Name: 'Moonshot', Status: 'Cancelled' },
      { typecast: true },
    );
    const billing = (await allRecords(h, DEMO_BASE, 'Projects')).find(
      (r) => r.fields.Name === 'Billing System Upgrade',
    )!;
    await h.airtable.updateRecord(DEMO_BASE, 'Projects', billing.id, { Description: null });

    const progress: { progress: number; total?: number }[] = [];
    const result = (await h.client.callTool(
      { name: 'sync_tables', arguments: syncArgs({ dry_run: false }) },
      undefined,
      {
        onprogress: (p) => progress.push(p),
      },
    )) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = result.structuredContent as unknown as SyncOut;
    expect(out.plan).toMatchObject({ creates: 16, updates: 6, deletes: 0 });
    expect(out.applied).toEqual({ created: 16, updated: 6, deleted: 0, failed: 0, failures: [] });
    expect(progress.length).toBeGreaterThan(0);
    const values = progress.map((p) => p.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // 26 + 15 records read, then 16 + 6 written.
    expect(progress.at(-1)).toMatchObject({ progress: 63, total: 63 });

    const archive = await allRecords(h, ARCHIVE_BASE, 'Projects');
    expect(archive).toHaveLength(31);
    expect(archive.find((r) => r.fields.Name === 'Moonshot')?.fields.Status).toBe('Cancelled');
    expect(
      archive.find((r) => r.fields.Name === 'Billing System Upgrade')?.fields.Description,
    ).toBeUndefined();
    expect(archive.find((r) => r.fields.Name === 'Website Redesign')?.fields).toMatchObject({
      Status: 'Active',
      Budget: 85000,
    });

    const again = await h.ok<SyncOut>('sync_tables', syncArgs());
    expect(again.plan).toMatchObject({ creates: 0, updates: 0, unchanged: 26, target_only: 5 });
  });

  it('delete_missing removes the archive-only rows', async () => {
    const out = await h.ok<SyncOut>('sync_tables', syncArgs({ dry_run: false, delete_missing: true }));
    expect(out.applied).toMatchObject({ deleted: 5, failed: 0 });
    const names = (await allRecords(h, ARCHIVE_BASE, 'Projects')).map((r) => r.fields.Name);
    expect(names).toHaveLength(26);
    expect(names).not.toContain('Legacy CRM Sunset');
    const again = await h.ok<SyncOut>('sync_tables', syncArgs({ delete_missing: true }));
    expect(again.plan).toMatchObject({ creates: 0, updates: 0, deletes: 0, target_only: 0 });
  });
});

describe('sync_tables with duplicate keys', () => {
  it('reports keys held by several records and leaves them alone', async () => {
    const h = await startHarness();
    try {
      await h.airtable.createRecord(DEMO_BASE, 'Projects', { Name: 'website redesign ', Status: 'Done' });
      await h.airtable.createRecord(ARCHIVE_BASE, 'Projects', { Name: 'Print catalog' });
      const result = await h.call('sync_tables', syncArgs({ delete_missing: true }));
      const out = result.structuredContent as unknown as SyncOut;
      expect(out.duplicate_keys).toEqual([
        { key: 'print catalog', source: 0, target: 2 },
        { key: 'website redesign', source: 2, target: 1 },
      ]);
      // Website Redesign is no longer updated, Print Catalog no longer deleted.
      expect(out.plan).toMatchObject({ creates: 15, updates: 4, deletes: 4, duplicate_keys: 2 });
      expect(textOf(result)).toMatch(/Skipped duplicate keys: "print catalog" \(source 0, target 2\)/);
    } finally {
      await h.close();
    }
  });
});

describe('normalisation, CSV quoting and sync comparison helpers', () => {
  const field = (type: string): FieldSchema => ({ id: 'fldX', name: 'X', type });

  it('normalises keys: NFKC, spacing, case; accents only on request', () => {
    expect(normalizeText('  Ｍaria\u00a0 GARCIA ')).toBe('maria garcia');
    expect(normalizeText('José')).not.toBe(normalizeText('Jose'));
    expect(normalizeText('José', { ignoreAccents: true })).toBe('jose');
    expect(cellKey(['b', 'A'])).toBe(cellKey(['a', 'B ']));
    expect(cellKey(false)).toBe('');
  });

  it('quotes CSV fields only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField(' padded')).toBe('" padded"');
  });

  it('compares values the way a person would', () => {
    expect(sameValue(['b', 'a'], ['a', 'b'], field('multipleSelects'))).toBe(true);
    expect(sameValue(45000, 45000.0000000001, field('currency'))).toBe(true);
    expect(sameValue(45000, 45000.75, field('currency'))).toBe(false);
    expect(sameValue('text ', 'text', field('singleLineText'))).toBe(true);
    expect(sameValue('Text', 'text', field('singleLineText'))).toBe(false);
    expect(sameValue(null, undefined, field('checkbox'))).toBe(true);
    expect(sameValue('2026-01-02T08:00:00Z', '2026-01-02T08:00:00.000Z', field('dateTime'))).toBe(true);
  });

  it('turns source values into writable target values', () => {
    expect(writableValue(undefined, field('singleLineText'))).toBeNull();
    expect(writableValue(undefined, field('checkbox'))).toBe(false);
    expect(writableValue(['a', 'b'], field('singleLineText'))).toBe('a, b');
    expect(writableValue({ id: 'usr1', email: 'a@b.c', name: 'A' }, field('singleCollaborator'))).toEqual({
      id: 'usr1',
    });
    expect(writableValue('Red', field('multipleSelects'))).toEqual(['Red']);
  });
});

describe('sync_tables with values the target rejects', () => {
  it('applies the rest and reports each failed record', async () => {
    const h = await startHarness();
    try {
      // Same base, another table: "Code" is text in the source but a number in the target.
      const projects = (await h.airtable.getBaseSchema(DEMO_BASE)).find((t) => t.name === 'Projects')!;
      await h.airtable.createField(DEMO_BASE, projects.id, { name: 'Code', type: 'singleLineText' });
      await h.airtable.createTable(DEMO_BASE, {
        name: 'Projects Backup',
        fields: [
          { name: 'Name', type: 'singleLineText' },
          { name: 'Code', type: 'number', options: { precision: 0 } },
        ],
      });
      const mobile = (await allRecords(h, DEMO_BASE, 'Projects')).find(
        (r) => r.fields.Name === 'Mobile App v2',
      )!;
      await h.airtable.updateRecord(DEMO_BASE, 'Projects', mobile.id, { Code: 'not a number' });

      const args = syncArgs({
        target_base_id: DEMO_BASE,
        target_table_id: 'Projects Backup',
        dry_run: false,
      });
      const out = await h.ok<SyncOut>('sync_tables', args);
      expect(out.fields).toEqual(['Name', 'Code']);
      expect(out.applied).toMatchObject({ created: 24, updated: 0, failed: 1 });
      expect(out.applied!.failures[0]).toMatchObject({ action: 'create', key: 'Mobile App v2' });
      const names = (await allRecords(h, DEMO_BASE, 'Projects Backup')).map((r) => r.fields.Name);
      expect(names).toHaveLength(24);
      expect(names).not.toContain('Mobile App v2');
    } finally {
      await h.close();
    }
  });
});
