/**
 * The response budget holds for every tool, not only for those that fit
 * their own lists: with --max-response-tokens 1000 (4,000 characters) no
 * result carries a 50,000-character cell, a long comment or a long field
 * description in full, and a cut result says so in text and structure.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyResponseBudget } from '../src/tools/budget.js';
import { DEMO_BASE, type Harness, startHarness, textOf } from './helpers/harness.js';

const BUDGET = 1_000 * 4;
const HUGE = 50_000;

function expectWithinBudget(result: CallToolResult): void {
  expect(result.isError, textOf(result).slice(0, 300)).toBeFalsy();
  expect(textOf(result).length).toBeLessThanOrEqual(BUDGET);
  expect(JSON.stringify(result.structuredContent).length).toBeLessThanOrEqual(BUDGET);
  expect(result.structuredContent).toMatchObject({ truncated: true });
  expect(textOf(result)).toMatch(/cut to fit/);
}

describe('response budget for every tool', () => {
  let h: Harness;
  let seq = 0;
  const huge = () => {
    seq += 1;
    return `${seq}-${Date.now()}-${'x'.repeat(HUGE)}`;
  };
  const createHuge = async () =>
    h.airtable.createRecord(DEMO_BASE, 'Tasks', { Title: `Huge ${seq}`, Notes: huge() });

  beforeAll(async () => {
    h = await startHarness({ server: { maxResponseTokens: 1_000 } });
  });
  afterAll(async () => h?.close());

  it('create_record', async () => {
    expectWithinBudget(await h.call('create_record', { table_id: 'Tasks', fields: { Notes: huge() } }));
  });

  it('update_record', async () => {
    const record = await createHuge();
    const result = await h.call('update_record', {
      table_id: 'Tasks',
      record_id: record.id,
      fields: { Title: 'still huge' },
    });
    expectWithinBudget(result);
    // The id and the short cells survive; only the long text is shortened, with a marker.
    const out = result.structuredContent as { record: { id: string; fields: Record<string, string> } };
    expect(out.record.id).toBe(record.id);
    expect(out.record.fields.Title).toBe('still huge');
    expect(out.record.fields.Notes).toMatch(/characters cut to fit the response\]$/);
  });

  it('batch_update_records', async () => {
    const record = await createHuge();
    expectWithinBudget(
      await h.call('batch_update_records', {
        table_id: 'Tasks',
        records: [{ id: record.id, fields: { Title: 'batch huge' } }],
      }),
    );
  });

  it('upsert_records', async () => {
    expectWithinBudget(
      await h.call('upsert_records', {
        table_id: 'Tasks',
        fields_to_merge_on: ['Title'],
        records: [{ fields: { Title: `upsert ${Date.now()}`, Notes: huge() } }],
      }),
    );
  });

  it('find_duplicates', async () => {
    // A table of its own, so the one group is the huge one (the tool already leaves out groups that do not fit).
    const table = await h.airtable.createTable(DEMO_BASE, {
      name: `Dups ${Date.now()}`,
      fields: [
        { name: 'Name', type: 'singleLineText' },
        { name: 'Notes', type: 'multilineText' },
      ],
    });
    const notes = huge();
    await h.airtable.createRecords(DEMO_BASE, table.id, [
      { Name: 'dup a', Notes: notes },
      { Name: 'dup b', Notes: notes },
    ]);
    expectWithinBudget(await h.call('find_duplicates', { table_id: table.id, fields: ['Notes'] }));
  });

  it('create_comment and list_comments', async () => {
    const record = await h.airtable.createRecord(DEMO_BASE, 'Tasks', { Title: 'Commented' });
    const text = 'c'.repeat(10_000);
    expectWithinBudget(await h.call('create_comment', { table_id: 'Tasks', record_id: record.id, text }));
    expectWithinBudget(await h.call('list_comments', { table_id: 'Tasks', record_id: record.id }));
  });

  it('create_field', async () => {
    expectWithinBudget(
      await h.call('create_field', {
        table_id: 'Tasks',
        name: `Long description ${Date.now()}`,
        type: 'singleLineText',
        description: 'd'.repeat(20_000),
      }),
    );
  });

  it('leaves results that fit untouched (no truncated flag added)', async () => {
    const record = await h.airtable.createRecord(DEMO_BASE, 'Tasks', { Title: 'Small' });
    const result = await h.call('get_record', { table_id: 'Tasks', record_id: record.id });
    expect(result.structuredContent).not.toHaveProperty('truncated');
    expect(textOf(result)).not.toMatch(/cut to fit/);
  });
});

describe('applyResponseBudget', () => {
  it('leaves out list items when shortening strings is not enough', () => {
    const records = Array.from({ length: 500 }, (_, i) => ({ id: `rec${i}`, n: i }));
    const out = applyResponseBudget(
      { structured: { records, count: 500 }, text: records.map((r) => r.id).join('\n') },
      2_000,
    );
    expect(JSON.stringify(out.structured).length).toBeLessThanOrEqual(2_000);
    expect(out.text.length).toBeLessThanOrEqual(2_000);
    expect(out.structured.records.length).toBeGreaterThan(10);
    expect(out.structured.records[0]).toEqual({ id: 'rec0', n: 0 });
    expect(out.text).toMatch(/list items left out/);
    expect(out.text).toMatch(/more lines cut/);
  });

  it('keeps the text of a result whose structured part alone is too large, and marks both', () => {
    const out = applyResponseBudget({ structured: { note: 'y'.repeat(10_000) }, text: 'short' }, 4_000);
    expect(out.text.startsWith('short\n[Response cut')).toBe(true);
    expect(out.structured).toMatchObject({ truncated: true });
    expect((out.structured as { note: string }).note.length).toBeLessThan(4_000);
  });
});
