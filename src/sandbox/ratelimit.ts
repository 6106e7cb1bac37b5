/**
 * Airtable-style rate limits (reference §4): per base and per token, at most N requests in any sliding
 * 1-second window (a log of timestamps, not fixed windows). Exceeding a limit blocks that key for
 * `penaltyMs`; requests during the penalty also get 429 but do not extend it.
 */
import type { SandboxRateLimitOptions } from './options.js';

const WINDOW_MS = 1000;

export const AIRTABLE_LIMITS: Required<SandboxRateLimitOptions> = {
  perBasePerSec: 5,
  perTokenPerSec: 50,
  penaltyMs: 30_000,
  emitRetryAfter: false,
};

interface KeyState {
  log: number[];
  blockedUntil: number;
}

/** Drops timestamps that left the window; the log is in time order. */
function prune(log: number[], now: number): void {
  let drop = 0;
  while (drop < log.length && log[drop]! <= now - WINDOW_MS) drop++;
  if (drop) log.splice(0, drop);
}

class SlidingLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly limit: number,
    private readonly penaltyMs: number,
  ) {}

  /** Milliseconds until `key` may send again, or 0 when it may send now. Starts a penalty when over the limit. */
  wait(key: string, now: number): number {
    const state = this.keys.get(key) ?? { log: [], blockedUntil: 0 };
    this.keys.set(key, state);
    if (state.blockedUntil > now) return state.blockedUntil - now;
    prune(state.log, now);
    if (state.log.length < this.limit) return 0;
    // With no penalty the key is free again as soon as the oldest request leaves the window.
    state.blockedUntil = now + (this.penaltyMs > 0 ? this.penaltyMs : state.log[0]! + WINDOW_MS - now);
    return state.blockedUntil - now;
  }

  record(key: string, now: number): void {
    this.keys.get(key)?.log.push(now);
  }

  clear(): void {
    this.keys.clear();
  }
}

export interface RateDecision {
  limited: boolean;
  retryAfterSeconds?: number;
}

export class RateLimiter {
  private readonly perBase: SlidingLimiter;
  private readonly perToken: SlidingLimiter;
  private readonly emitRetryAfter: boolean;

  constructor(options: SandboxRateLimitOptions) {
    const o = { ...AIRTABLE_LIMITS, ...options };
    this.perBase = new SlidingLimiter(o.perBasePerSec, o.penaltyMs);
    this.perToken = new SlidingLimiter(o.perTokenPerSec, o.penaltyMs);
    this.emitRetryAfter = o.emitRetryAfter;
  }

  /** Checks the token, then the base; only requests that pass both are counted in the windows. */
  check(token: string, baseId: string | undefined, now = Date.now()): RateDecision {
    const wait = this.perToken.wait(token, now) || (baseId ? this.perBase.wait(baseId, now) : 0);
    if (wait > 0) {
      return this.emitRetryAfter
        ? { limited: true, retryAfterSeconds: Math.ceil(wait / 1000) }
        : { limited: true };
    }
    this.perToken.record(token, now);
    if (baseId) this.perBase.record(baseId, now);
    return { limited: false };
  }

  clear(): void {
    this.perBase.clear();
    this.perToken.clear();
  }
}
