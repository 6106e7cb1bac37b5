import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLimiter, type RateLimiter } from '../src/airtable/index.js';

/** The most grants inside any half-open window [t, t + windowMs). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) {
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j]! < sorted[i]! + windowMs; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

/** Asks for a slot of key `k`, lets `advanceMs` of fake time pass, and says when (after `t0`) it was granted. */
async function nextGrantAt(limiter: RateLimiter, t0: number, advanceMs: number): Promise<number> {
  let at = -1;
  const granted = Promise.resolve(limiter.acquire(['k'])).then(() => {
    at = Date.now() - t0;
  });
  await vi.advanceTimersByTimeAsync(advanceMs);
  await granted;
  return at;
}

describe('memory limiter (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never grants more than the limit in any window, for a burst', async () => {
    const limiter = createMemoryLimiter();
    const grants: number[] = [];
    const all = Array.from({ length: 40 }, () =>
      limiter.acquire(['base:appA']).then(() => grants.push(Date.now())),
    );
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(all);
    expect(grants).toHaveLength(40);
    expect(maxInAnyWindow(grants, 1050)).toBe(5);
    // Sliding log, not fixed windows: grants i and i+5 are always a full window apart.
    for (let i = 0; i + 5 < grants.length; i++)
      expect(grants[i + 5]! - grants[i]!).toBeGreaterThanOrEqual(1050);
    // ...and it does not waste capacity: 40 grants need 7 further windows.
    expect(grants.at(-1)! - grants[0]!).toBe(7 * 1050);
  });

  it('never grants more than the limit in any window, for staggered arrivals', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 5, windowMs: 1050 } });
    const grants: number[] = [];
    const all: Promise<unknown>[] = [];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 120; i++) {
      all.push(limiter.acquire(['base:appA']).then(() => grants.push(Date.now())));
      await vi.advanceTimersByTimeAsync(Math.floor(rand() * 300));
    }
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(all);
    expect(grants).toHaveLength(120);
    expect(maxInAnyWindow(grants, 1050)).toBeLessThanOrEqual(5);
  });

  it('serves waiters of one key in arrival order', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 100 } });
    const order: number[] = [];
    const all = Array.from({ length: 10 }, (_, i) => limiter.acquire(['k']).then(() => order.push(i)));
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('abort removes the waiter: it takes no slot and rejects with the reason', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 1000 } });
    const t0 = Date.now();
    await limiter.acquire(['k']);
    const ac = new AbortController();
    const aborted = limiter.acquire(['k'], ac.signal);
    const grants: number[] = [];
    const c = limiter.acquire(['k']).then(() => grants.push(Date.now() - t0));
    const d = limiter.acquire(['k']).then(() => grants.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(300);
    ac.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all([c, d]);
    // The aborted waiter's turn went to the next in line.
    expect(grants).toEqual([1000, 2000]);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const limiter = createMemoryLimiter();
    await expect(limiter.acquire(['k'], AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('penalize closes a key until the given time, and only that key', async () => {
    const limiter = createMemoryLimiter();
    const t0 = Date.now();
    limiter.penalize('base:appA', t0 + 30_000);
    let penalizedAt = -1;
    let otherAt = -1;
    const a = limiter.acquire(['base:appA']).then(() => {
      penalizedAt = Date.now() - t0;
    });
    const b = limiter.acquire(['base:appB']).then(() => {
      otherAt = Date.now() - t0;
    });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(penalizedAt).toBe(-1);
    expect(otherAt).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([a, b]);
    expect(penalizedAt).toBe(30_000);
  });

  it('a penalty never shortens an existing one', async () => {
    const limiter = createMemoryLimiter();
    const t0 = Date.now();
    limiter.penalize('k', t0 + 1000);
    limiter.penalize('k', t0 + 500);
    expect(await nextGrantAt(limiter, t0, 2000)).toBe(1000);
  });

  it('multi-key acquire is atomic and does not hold one key while waiting for another', async () => {
    const limiter = createMemoryLimiter({
      perBase: { limit: 1, windowMs: 1000 },
      perToken: { limit: 2, windowMs: 1000 },
    });
    const t0 = Date.now();
    const at: Record<string, number> = {};
    const take = (name: string, keys: string[]) =>
      limiter.acquire(keys).then(() => {
        at[name] = Date.now() - t0;
      });
    const a = take('a', ['base:x', 'token:t']); // now: base x 1/1, token 1/2
    const b = take('b', ['base:x', 'token:t']); // waits for base x
    const c = take('c', ['base:y', 'token:t']); // token still has a slot: b must not be holding it
    const d = take('d', ['base:z', 'token:t']); // token full now
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toEqual({ a: 0, c: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all([a, b, c, d]);
    // At 1000 both a's and c's token slots free up; b (earlier) and d both fit.
    expect(at).toEqual({ a: 0, b: 1000, c: 0, d: 1000 });
  });

  it('uses the per-token rule for token: keys', async () => {
    const limiter = createMemoryLimiter();
    const grants: number[] = [];
    const all = Array.from({ length: 120 }, () =>
      limiter.acquire(['token:abc']).then(() => grants.push(Date.now())),
    );
    await vi.advanceTimersByTimeAsync(5000);
    await Promise.all(all);
    expect(maxInAnyWindow(grants, 1050)).toBe(50);
    expect(grants.at(-1)! - grants[0]!).toBe(2 * 1050);
  });

  it('a released request counts from its completion, so late arrivals cannot overfill a window', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 2, windowMs: 1000 } });
    const t0 = Date.now();
    const r1 = await limiter.acquire(['k']);
    const r2 = await limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(300);
    r1!(); // the first response arrived at 300
    r1!(); // releasing twice changes nothing
    await vi.advanceTimersByTimeAsync(100);
    r2!(); // the second at 400
    const at: number[] = [];
    const next = [limiter.acquire(['k']), limiter.acquire(['k'])].map((p) =>
      p.then(() => at.push(Date.now() - t0)),
    );
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(next);
    expect(at).toEqual([1300, 1400]);
  });

  it('a released request is credited the headroom: it frees its slot a plain window after its response', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 1050, headroomMs: 50 } });
    const t0 = Date.now();
    const r1 = await limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(300);
    r1!(); // the response arrived at 300: Airtable had the request by then
    expect(await nextGrantAt(limiter, t0, 2000)).toBe(1300); // 300 - 50 + 1050; without the credit 1350
  });

  it('the credit never counts a request from before its grant', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 1050, headroomMs: 50 } });
    const t0 = Date.now();
    const r1 = await limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(20);
    r1!();
    expect(await nextGrantAt(limiter, t0, 2000)).toBe(1050);
  });

  it('a credited release that lands before newer grants keeps the log in order', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 2, windowMs: 1050, headroomMs: 50 } });
    const t0 = Date.now();
    const r1 = await limiter.acquire(['k']); // granted at 0
    await vi.advanceTimersByTimeAsync(480);
    await limiter.acquire(['k']); // granted at 480, never released
    await vi.advanceTimersByTimeAsync(20);
    r1!(); // released at 500: counts from 450, before the grant at 480
    const at: number[] = [];
    const next = [limiter.acquire(['k']), limiter.acquire(['k'])].map((p) =>
      p.then(() => at.push(Date.now() - t0)),
    );
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all(next);
    expect(at).toEqual([1500, 1530]); // 450 + 1050, then 480 + 1050
  });

  it('refuses a headroom that is not part of the window', () => {
    expect(() => createMemoryLimiter({ perBase: { limit: 5, windowMs: 1000, headroomMs: 1000 } })).toThrow(
      /headroomMs/,
    );
    expect(() => createMemoryLimiter({ perBase: { limit: 5, windowMs: 1000, headroomMs: -1 } })).toThrow(
      /headroomMs/,
    );
  });

  it('an unreleased request keeps counting from its grant', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 2, windowMs: 1000 } });
    const t0 = Date.now();
    const r1 = await limiter.acquire(['k']);
    await limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(300);
    r1!();
    expect(await nextGrantAt(limiter, t0, 2000)).toBe(1000);
  });

  it('a request released after its window re-enters the log', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 1000 } });
    const t0 = Date.now();
    const release = await limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(1500);
    release!();
    expect(await nextGrantAt(limiter, t0, 3000)).toBe(2500);
  });

  it('counts waiting time', async () => {
    const limiter = createMemoryLimiter({ perBase: { limit: 1, windowMs: 500 } });
    await limiter.acquire(['k']);
    const p = limiter.acquire(['k']);
    await vi.advanceTimersByTimeAsync(500);
    await p;
    expect(limiter.waitedMs).toBe(500);
  });
});

describe('memory limiter (real timers)', () => {
  it('spaces a burst across two keys within the limits', async () => {
    const windowMs = 100;
    const limiter = createMemoryLimiter({
      perBase: { limit: 3, windowMs },
      perToken: { limit: 5, windowMs },
    });
    const grants: Record<string, number[]> = { a: [], b: [], token: [] };
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const base = i % 2 ? 'a' : 'b';
        return limiter.acquire([`base:${base}`, 'token:t']).then(() => {
          const t = performance.now();
          grants[base]!.push(t);
          grants.token!.push(t);
        });
      }),
    );
    const elapsed = performance.now() - started;
    // Times are taken when the grant's callback runs, a few ms after the grant on a cold start: allow 10 ms.
    expect(maxInAnyWindow(grants.a!, windowMs - 10)).toBeLessThanOrEqual(3);
    expect(maxInAnyWindow(grants.b!, windowMs - 10)).toBeLessThanOrEqual(3);
    expect(maxInAnyWindow(grants.token!, windowMs - 10)).toBeLessThanOrEqual(5);
    // 30 grants at 5 per window: at least 5 further windows.
    expect(elapsed).toBeGreaterThanOrEqual(5 * windowMs - 5);
  });
});
