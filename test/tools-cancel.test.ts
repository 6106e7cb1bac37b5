/**
 * Cancellation reaches a running tool: the SDK client's AbortSignal sends
 * notifications/cancelled, the tool's signal aborts, and the batch stops
 * between requests instead of writing the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BASE, type Harness, startHarness } from './helpers/harness.js';

async function countTasks(h: Harness, title: string): Promise<number> {
  const page = await h.airtable.listRecords(DEMO_BASE, 'Tasks', {
    filterByFormula: `{Title} = "${title}"`,
    maxRecords: 1000,
  });
  return page.records.length;
}

describe('cancellation', () => {
  let h: Harness;
  beforeAll(async () => {
    // Real limits, so 200 records take 20 requests over about 4 seconds.
    h = await startHarness({
      sandbox: { rateLimit: { perBasePerSec: 5, perTokenPerSec: 50, penaltyMs: 30_000 } },
    });
  });
  afterAll(async () => h?.close());

  it('stops a batch between requests when the client cancels', async () => {
    const title = 'Cancelled batch';
    const records = Array.from({ length: 200 }, () => ({ Title: title }));
    const controller = new AbortController();
    const call = h.client.callTool(
      { name: 'batch_create_records', arguments: { table_id: 'Tasks', records } },
      undefined,
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 1200);
    await expect(call).rejects.toThrow();

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const afterCancel = await countTasks(h, title);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = await countTasks(h, title);
    expect(afterCancel).toBeGreaterThan(0);
    expect(afterCancel).toBeLessThan(200);
    expect(later).toBe(afterCancel);
    expect(afterCancel % 10).toBe(0); // whole requests only: nothing half-written
  });
});
