/**
 * Batch results when answers are lost: records whose write may or may not
 * have happened are reported apart from real failures, in their own field
 * and count, and the result always has structured content, even when the
 * very first request lost its answer.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BASE, type Harness, startHarness, textOf } from './helpers/harness.js';

type Failure = { index: number; id?: string; error: string };
type Batch = {
  created: number;
  records: { index: number; id: string }[];
  failures: Failure[];
  failed: number;
  unknown_outcomes: Failure[];
  unknown: number;
  requests: number;
};

const titles = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ Title: `${tag} ${i}` }));

describe('batch results with lost answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.call('list_tables', {}); // warm the schema cache: the only requests left are the writes
  });
  afterAll(async () => h?.close());

  /** Runs a batch create with scripted faults on the record writes. */
  async function createWith(records: Record<string, unknown>[], sequence: ('ok' | 'drop')[]) {
    h.sandbox.setFaults({ sequence, pathPrefix: `/v0/${DEMO_BASE}/` });
    try {
      return await h.call('batch_create_records', { table_id: 'Tasks', records });
    } finally {
      h.sandbox.setFaults(undefined);
    }
  }
  const structured = (r: CallToolResult) => r.structuredContent as Batch;

  it('reports a lost first request as unknown outcomes, with structured content', async () => {
    const result = await createWith(titles(3, 'lost first'), ['drop']);
    expect(result.isError).toBe(true);
    const out = structured(result);
    expect(out).toMatchObject({ created: 0, failed: 0, unknown: 3, failures: [], records: [] });
    expect(out.unknown_outcomes.map((u) => u.index)).toEqual([0, 1, 2]);
    expect(textOf(result)).toMatch(/3 outcome unknown/);
    expect(textOf(result)).toMatch(/check before retrying/);
  });

  it('keeps written, failed and unknown apart in a partly lost batch', async () => {
    const records = [{ Status: 'No such option' }, ...titles(9, 'mixed'), { Title: 'mixed lost' }];
    // Request 1: the first chunk (refused for the bad record); 2-11: its records one by one; 12: the rest, lost.
    const result = await createWith(records, [...Array(11).fill('ok'), 'drop']);
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = structured(result);
    expect(out).toMatchObject({ created: 9, failed: 1, unknown: 1 });
    expect(out.failures).toEqual([expect.objectContaining({ index: 0 })]);
    expect(out.unknown_outcomes).toEqual([expect.objectContaining({ index: 10 })]);
    expect(out.failures[0]!.error).not.toMatch(/Outcome unknown/);
    expect(textOf(result)).toMatch(/^9 created, 1 failed, 1 outcome unknown/);
  });

  it('a refused batch has structured failures and no unknown outcomes', async () => {
    const result = await h.call('batch_create_records', {
      table_id: 'Tasks',
      records: [{ Status: 'No such option' }],
    });
    expect(result.isError).toBe(true);
    expect(structured(result)).toMatchObject({ created: 0, failed: 1, unknown: 0, unknown_outcomes: [] });
    expect(textOf(result)).toMatch(/nothing was changed/);
  });

  it('the client flags unknown outcomes on the failed records', async () => {
    h.sandbox.setFaults({ sequence: ['drop'], pathPrefix: `/v0/${DEMO_BASE}/` });
    const lost = await h.airtable.createRecords(DEMO_BASE, 'Tasks', titles(2, 'client lost'));
    h.sandbox.setFaults(undefined);
    expect(lost.failed.map((f) => f.unknown)).toEqual([true, true]);
    const refused = await h.airtable.createRecords(DEMO_BASE, 'Tasks', [{ Status: 'No such option' }]);
    expect(refused.failed[0]!.unknown).toBeUndefined();
  });
});
