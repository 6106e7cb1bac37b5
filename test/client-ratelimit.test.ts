/** Rate limiting, retries and fault handling against the sandbox with its limits and fault injection on. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AirtableClient,
  type AirtableClientOptions,
  AirtableError,
  createMemoryLimiter,
  type RateLimiter,
} from '../src/airtable/index.js';
import { type SandboxHandle, startSandbox } from '../src/sandbox/index.js';

const DEMO = 'appSandboxDemo001';
const ARCHIVE = 'appSandboxArchive';

let sb: SandboxHandle;
/** One limiter per token, shared by every client here, as in production: the sandbox's windows outlive a test. */
let shared: RateLimiter;

function makeClient(extra: Partial<AirtableClientOptions> = {}): AirtableClient {
  return new AirtableClient({ token: sb.token, baseUrl: sb.url, limiter: shared, ...extra });
}

/** Counts records in Tasks whose Title is exactly `title`, with faults off. */
async function countTitled(title: string): Promise<number> {
  sb.setFaults(undefined);
  const res = await makeClient().listRecords(DEMO, 'Tasks', { filterByFormula: `{Title} = '${title}'` });
  return res.records.length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await startSandbox({
    port: 0,
    seed: 'demo',
    rateLimit: { perBasePerSec: 5, perTokenPerSec: 50, penaltyMs: 200 },
  });
  shared = createMemoryLimiter();
});
afterAll(async () => {
  await sb?.stop();
});
beforeEach(() => {
  sb.reset();
});

describe('proactive rate limiting', () => {
  it('500 concurrent reads over two bases never exceed 5/s per base and never see a 429', async () => {
    let rateLimitedEvents = 0;
    const counted = makeClient({
      onEvent: (e) => {
        if (e.type === 'rate_limited') rateLimitedEvents++;
      },
    });
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) =>
        i % 2
          ? counted.listRecordsPage(DEMO, 'Tasks', { pageSize: 5 })
          : counted.listRecordsPage(ARCHIVE, 'Projects', { pageSize: 5 }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    const stats = sb.stats();
    expect(stats.bases[DEMO]!.requests).toBe(250);
    expect(stats.bases[ARCHIVE]!.requests).toBe(250);
    expect(stats.bases[DEMO]!.maxPerSecond).toBeLessThanOrEqual(5);
    expect(stats.bases[ARCHIVE]!.maxPerSecond).toBeLessThanOrEqual(5);
    expect(stats.totals.rateLimited).toBe(0);
    expect(rateLimitedEvents).toBe(0);
    // 250 per base at 5 per 1.05 s ≈ 52 s; faster would mean the limiter let too much through.
    expect(seconds).toBeGreaterThan(49 * 1.05);
    if (process.env.CLIENT_TEST_VERBOSE) {
      process.stderr.write(
        `[client-ratelimit] 500 reads in ${seconds.toFixed(1)} s; maxPerSecond ` +
          `${stats.bases[DEMO]!.maxPerSecond}/${stats.bases[ARCHIVE]!.maxPerSecond}\n`,
      );
    }
  }, 120_000);
});

describe('faults', () => {
  it('under a 429/503 storm every call succeeds or fails with a typed error within its deadline', async () => {
    sb.setFaults({ rates: { 429: 0.3, 503: 0.3 }, retryAfterSeconds: 0, seed: 42 });
    const deadlineMs = 20_000;
    const client = makeClient({ rateLimitPenaltyMs: 100, retryBaseDelayMs: 10, deadlineMs });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const started = performance.now();
        try {
          if (i % 3 === 0) await client.createRecord(DEMO, 'Tasks', { Title: `storm ${i}` });
          else await client.listRecordsPage(i % 2 ? DEMO : ARCHIVE, i % 2 ? 'Tasks' : 'Log', { pageSize: 3 });
          return { ok: true, ms: performance.now() - started };
        } catch (err) {
          expect(err).toBeInstanceOf(AirtableError);
          expect(['rate_limited', 'server', 'timeout']).toContain((err as AirtableError).kind);
          return { ok: false, ms: performance.now() - started };
        }
      }),
    );
    if (process.env.CLIENT_TEST_VERBOSE) {
      const ok = outcomes.filter((o) => o.ok).length;
      const slowest = Math.max(...outcomes.map((o) => o.ms));
      process.stderr.write(
        `[client-ratelimit] storm: ${ok}/30 ok, slowest ${slowest.toFixed(0)} ms, ${JSON.stringify(sb.stats().totals)}\n`,
      );
    }
    expect(outcomes.every((o) => o.ms < deadlineMs + 250)).toBe(true);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(20);
    expect(sb.stats().totals.faultsInjected).toBeGreaterThan(10);
    // Creates are retried after 429/503 (nothing was written), and never duplicated.
    for (let i = 0; i < 30; i += 3) expect(await countTitled(`storm ${i}`)).toBeLessThanOrEqual(1);
  }, 60_000);

  it('a dropped connection on a create is ambiguous and is not retried', async () => {
    const client = makeClient();
    sb.setFaults({ sequence: ['drop'] });
    const before = sb.stats().totals.requests;
    const err = await client
      .createRecord(DEMO, 'Tasks', { Title: 'dropped create' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirtableError);
    expect((err as AirtableError).kind).toBe('ambiguous');
    expect((err as AirtableError).hint).toMatch(/may or may not have happened/);
    expect(sb.stats().totals.requests - before).toBe(1);
    expect(await countTitled('dropped create')).toBeLessThanOrEqual(1);
  });

  it('a dropped connection on a GET is retried', async () => {
    const client = makeClient({ retryBaseDelayMs: 10 });
    sb.setFaults({ sequence: ['drop'] });
    const page = await client.listRecordsPage(DEMO, 'Tasks', { pageSize: 2 });
    expect(page.records).toHaveLength(2);
    expect(sb.stats().totals.requests).toBe(2);
  });

  it('a 503 on a create is retried and creates exactly one record', async () => {
    const client = makeClient({ retryBaseDelayMs: 10 });
    sb.setFaults({ sequence: [503, 'ok'] });
    const rec = await client.createRecord(DEMO, 'Tasks', { Title: 'created after 503' });
    expect(rec.id).toMatch(/^rec/);
    expect(await countTitled('created after 503')).toBe(1);
  });

  it('a 429 without Retry-After pauses the base for the penalty, then succeeds', async () => {
    const client = makeClient({ rateLimitPenaltyMs: 300 });
    sb.setFaults({ sequence: [429, 'ok'] });
    const started = performance.now();
    await client.listRecordsPage(DEMO, 'Tasks', { pageSize: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('abort while waiting for the limiter or in backoff is prompt', async () => {
    await sleep(1100); // let earlier tests' requests leave the sandbox's own window
    const client = makeClient({ limiter: createMemoryLimiter() });
    const ac = new AbortController();
    const calls = Array.from({ length: 15 }, () =>
      client.listRecordsPage(DEMO, 'Tasks', { pageSize: 1 }, { signal: ac.signal }),
    );
    await sleep(200);
    const abortedAt = performance.now();
    ac.abort();
    const settled = await Promise.allSettled(calls);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    const kinds = settled.map((s) => (s.status === 'rejected' ? (s.reason as AirtableError).kind : 'ok'));
    expect(kinds.filter((k) => k === 'ok')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'aborted')).toHaveLength(10);

    sb.setFaults({ sequence: [503], retryAfterSeconds: 30 });
    const ac2 = new AbortController();
    const pending = client
      .listRecordsPage(ARCHIVE, 'Log', {}, { signal: ac2.signal })
      .catch((e: unknown) => e);
    await sleep(200);
    const t = performance.now();
    ac2.abort();
    const err = await pending;
    expect(performance.now() - t).toBeLessThan(100);
    expect((err as AirtableError).kind).toBe('aborted');
  });

  it('latency beyond timeoutMs gives kind timeout', async () => {
    const client = makeClient({ timeoutMs: 100, maxRetries: 1, retryBaseDelayMs: 10 });
    sb.setFaults({ latencyMs: 400 });
    const started = performance.now();
    const err = await client.getRecord(DEMO, 'Tasks', 'recAAAAAAAAAAAAAA').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirtableError);
    expect((err as AirtableError).kind).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
