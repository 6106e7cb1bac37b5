/** Request counters for `GET /_sandbox/stats` and `handle.stats()`. */
import type { SandboxBaseStats, SandboxStats } from './options.js';

const WINDOW_MS = 1000;

interface BaseCounter extends SandboxBaseStats {
  /** Arrival times inside the last second, for maxPerSecond. */
  recent: number[];
}

export class StatsCollector {
  private bases = new Map<string, BaseCounter>();
  private totals = { requests: 0, rateLimited: 0, faultsInjected: 0 };

  /** Every API request (control routes excluded). */
  request(): void {
    this.totals.requests++;
  }

  /** A request that reached a base (after routing and auth), whatever its outcome. */
  baseRequest(baseId: string, now = Date.now()): void {
    const c = this.counter(baseId);
    c.requests++;
    let drop = 0;
    while (drop < c.recent.length && c.recent[drop]! <= now - WINDOW_MS) drop++;
    if (drop) c.recent.splice(0, drop);
    c.recent.push(now);
    c.maxPerSecond = Math.max(c.maxPerSecond, c.recent.length);
  }

  rateLimited(baseId: string | undefined): void {
    this.totals.rateLimited++;
    if (baseId) this.counter(baseId).rateLimited++;
  }

  faultInjected(): void {
    this.totals.faultsInjected++;
  }

  snapshot(): SandboxStats {
    const bases: Record<string, SandboxBaseStats> = {};
    for (const [id, c] of this.bases) {
      bases[id] = { requests: c.requests, maxPerSecond: c.maxPerSecond, rateLimited: c.rateLimited };
    }
    return { bases, totals: { ...this.totals } };
  }

  reset(): void {
    this.bases.clear();
    this.totals = { requests: 0, rateLimited: 0, faultsInjected: 0 };
  }

  private counter(baseId: string): BaseCounter {
    let c = this.bases.get(baseId);
    if (!c) {
      c = { requests: 0, maxPerSecond: 0, rateLimited: 0, recent: [] };
      this.bases.set(baseId, c);
    }
    return c;
  }
}
