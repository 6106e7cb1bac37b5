/**
 * What tools say when things go wrong in ways a model could misread: a write
 * whose outcome is unknown, a record bigger than the response budget, a
 * cancelled caller sharing a schema fetch with others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaCache } from '../src/tools/context.js';
import { DEMO_BASE, type Harness, startHarness, textOf } from './helpers/harness.js';

describe('tool failure reports', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ server: { maxResponseTokens: 1_000 } });
  });
  afterAll(async () => h?.close());

  it('never says "nothing was changed" when a write may have happened', async () => {
    await h.call('list_tables', {}); // warm the schema cache so the only request left is the write
    h.sandbox.setFaults({ sequence: ['drop'], pathPrefix: `/v0/${DEMO_BASE}/` });
    const result = await h.call('batch_create_records', { table_id: 'Tasks', records: [{ Title: 'maybe' }] });
    h.sandbox.setFaults(undefined);
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/outcome is unknown/);
    expect(text).toMatch(/check before retrying/);
    expect(text).not.toMatch(/nothing was changed/);
  });

  it('still says "nothing was changed" when Airtable refused every record', async () => {
    const text = await h.fails('batch_create_records', {
      table_id: 'Tasks',
      records: [{ Status: 'No such option' }],
    });
    expect(text).toMatch(/nothing was changed/);
  });

  it('shortens a record larger than the whole response budget', async () => {
    const notes = 'x'.repeat(50_000);
    const created = await h.airtable.createRecord(DEMO_BASE, 'Tasks', { Title: 'Huge notes', Notes: notes });
    const budget = 1_000 * 4;
    const page = await h.call('get_records', {
      table_id: 'Tasks',
      filter_by_formula: `RECORD_ID() = '${created.id}'`,
    });
    expect(textOf(page).length).toBeLessThanOrEqual(budget);
    expect(JSON.stringify(page.structuredContent).length).toBeLessThanOrEqual(budget);
    expect(page.structuredContent).toMatchObject({ truncated: true });
    expect(textOf(page)).toMatch(/shortened/);
    const one = await h.call('get_record', { table_id: 'Tasks', record_id: created.id });
    expect(JSON.stringify(one.structuredContent).length).toBeLessThanOrEqual(budget);
  });
});

describe('schema cache shared by callers', () => {
  it("does not fail one caller's lookup when another caller cancels", async () => {
    const h = await startHarness();
    try {
      h.sandbox.setFaults({ latencyMs: 300 });
      const cache = new SchemaCache(h.airtable);
      const a = new AbortController();
      const first = cache.table(DEMO_BASE, 'Tasks', a.signal);
      const second = cache.table(DEMO_BASE, 'Tasks');
      setTimeout(() => a.abort(new Error('cancelled by A')), 50);
      await expect(first).rejects.toThrow('cancelled by A');
      await expect(second).resolves.toMatchObject({ name: 'Tasks' });
    } finally {
      await h.close();
    }
  });
});
