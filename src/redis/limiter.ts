/**
 * The Airtable rate limiter shared by every replica: the same sliding log as
 * createMemoryLimiter, kept in Redis and advanced by atomic Lua scripts
 * (limiter-lua.ts), so 5 req/s per base and 50 per token hold across the fleet.
 *
 * Within a replica, waiters are served in arrival order exactly as in the
 * memory limiter (all keys or none; a waiter blocked by key A does not hold
 * up a later one that needs only B). Across replicas there is no global queue:
 * whichever replica asks first after a slot frees takes it. Waiting replicas
 * re-ask after the wait Redis reported, at most `pollMs` apart.
 *
 * While Redis is down, or right after one of its commands failed, acquire()
 * goes to `fallback` (an in-process limiter with the same rules) and returns to
 * Redis once it is back. The two do not see each other's grants, so a switch
 * can let one window through twice: degraded, not broken.
 */
import { randomBytes } from 'node:crypto';
import type { RateLimiter, RateLimitRelease } from '../airtable/limiter.js';
import {
  AIRTABLE_PER_BASE,
  AIRTABLE_PER_TOKEN,
  checkRule,
  createMemoryLimiter,
  type RateLimit,
  releaseCreditMs,
} from '../airtable/memory-limiter.js';
import type { SharedRedis } from './connection.js';
import { RedisFailurePause } from './failure-pause.js';
import { ACQUIRE_LUA, PENALIZE_LUA, RELEASE_LUA } from './limiter-lua.js';
import { RedisScript } from './script.js';

export interface RedisLimiterOptions {
  redis: SharedRedis;
  perBase?: RateLimit;
  perToken?: RateLimit;
  /** Used while Redis is unavailable; defaults to createMemoryLimiter with the same rules. */
  fallback?: RateLimiter;
  /** Longest sleep between two attempts of a waiting acquire. */
  pollMs?: number;
}

export type SharedRateLimiter = RateLimiter & { readonly usingFallback: boolean };

/** After a failed command, how long to stay on the fallback before trying Redis again. */
const RETRY_AFTER_FAILURE_MS = 1000;

const acquireScript = new RedisScript(ACQUIRE_LUA);
const releaseScript = new RedisScript(RELEASE_LUA);
const penalizeScript = new RedisScript(PENALIZE_LUA);

interface Waiter {
  keys: readonly string[];
  since: number;
  signal: AbortSignal | undefined;
  settled: boolean;
  resolve: (release: RateLimitRelease | undefined) => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

type Attempt = { granted: true } | { granted: false; waitMs: number; blocked: string[] };

export function createRedisLimiter(options: RedisLimiterOptions): SharedRateLimiter {
  const perBase = options.perBase ?? AIRTABLE_PER_BASE;
  const perToken = options.perToken ?? AIRTABLE_PER_TOKEN;
  const fallback = options.fallback ?? createMemoryLimiter({ perBase, perToken });
  return new RedisLimiter(options.redis, perBase, perToken, fallback, options.pollMs ?? 50);
}

class RedisLimiter implements SharedRateLimiter {
  #queue: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pumping = false;
  #pumpAgain = false;
  readonly #pause: RedisFailurePause;
  #waited = 0;
  /** Grant ids: unique across replicas (random) and within one (counter). */
  readonly #idPrefix = randomBytes(6).toString('base64url');
  #seq = 0;

  constructor(
    private readonly redis: SharedRedis,
    private readonly perBase: RateLimit,
    private readonly perToken: RateLimit,
    private readonly fallback: RateLimiter,
    private readonly pollMs: number,
  ) {
    checkRule(perBase);
    checkRule(perToken);
    // Created first, so its pause has ended by the time the pump below looks.
    this.#pause = new RedisFailurePause(redis, RETRY_AFTER_FAILURE_MS);
    // Down: hand queued waiters to the fallback now rather than at their next poll.
    redis.onStatusChange(() => this.#pump());
  }

  get usingFallback(): boolean {
    return !this.#pause.usable;
  }

  get waitedMs(): number {
    return this.#waited;
  }

  acquire(keys: readonly string[], signal?: AbortSignal): Promise<RateLimitRelease | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const unique = [...new Set(keys)];
    if (this.usingFallback) return this.#viaFallback(unique, signal, Date.now());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        keys: unique,
        since: Date.now(),
        signal,
        settled: false,
        resolve,
        reject,
        detach: () => {},
      };
      if (signal) {
        const onAbort = () => {
          if (!this.#settle(waiter)) return;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  async penalize(key: string, untilEpochMs: number): Promise<void> {
    // The fallback keeps the penalty too, in case Redis goes away before it ends.
    await this.fallback.penalize(key, untilEpochMs);
    // Sent as a duration: the script adds it to the Redis clock, so our clock's skew does not matter.
    const ms = Math.ceil(untilEpochMs - Date.now());
    if (ms <= 0 || this.redis.status !== 'ok') return;
    try {
      await penalizeScript.run(this.redis.client, [this.#penaltyKey(key)], [ms]);
      this.redis.reportCommandOk();
    } catch (err) {
      this.#pause.failed(err);
    }
  }

  #logKey(key: string): string {
    return `${this.redis.keyPrefix}rl:log:${key}`;
  }

  #penaltyKey(key: string): string {
    return `${this.redis.keyPrefix}rl:pen:${key}`;
  }

  #rule(key: string): RateLimit {
    return key.startsWith('token:') ? this.perToken : this.perBase;
  }

  #viaFallback(keys: readonly string[], signal: AbortSignal | undefined, since: number) {
    return this.fallback.acquire(keys, signal).then((release) => {
      this.#waited += Date.now() - since;
      return release ?? undefined;
    });
  }

  /** Marks the waiter done and takes it out of the queue; false if it already was. */
  #settle(waiter: Waiter): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    waiter.detach();
    const at = this.#queue.indexOf(waiter);
    if (at >= 0) this.#queue.splice(at, 1);
    return true;
  }

  /** Runs passes over the queue until none is requested, one at a time. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drain()
      .catch((err: unknown) => this.redis.logger.error({ err }, 'redis limiter: pump failed'))
      .finally(() => {
        this.#pumping = false;
        // A request that arrived after the last pass looked (between microtasks) still needs one.
        if (this.#pumpAgain) this.#pump();
      });
  }

  async #drain(): Promise<void> {
    let wakeInMs: number;
    do {
      this.#pumpAgain = false;
      wakeInMs = await this.#pass();
    } while (this.#pumpAgain);
    if (this.#queue.length === 0) return;
    const delay = Number.isFinite(wakeInMs) ? Math.min(Math.ceil(wakeInMs), this.pollMs) : this.pollMs;
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, delay));
  }

  /**
   * Tries every waiter in arrival order; returns when the earliest blocked one
   * could go. A key found full is skipped for the rest of the pass: later
   * waiters on it would only be told the same.
   */
  async #pass(): Promise<number> {
    let wakeInMs = Number.POSITIVE_INFINITY;
    const full = new Set<string>();
    for (const waiter of [...this.#queue]) {
      if (waiter.settled || waiter.keys.some((k) => full.has(k))) continue;
      if (this.usingFallback) {
        this.#toFallback(waiter);
        continue;
      }
      const id = `${this.#idPrefix}:${++this.#seq}`;
      let attempt: Attempt;
      try {
        attempt = await this.#attempt(waiter.keys, id);
        this.redis.reportCommandOk();
      } catch (err) {
        this.#pause.failed(err);
        this.#toFallback(waiter);
        continue;
      }
      if (attempt.granted) {
        this.#grant(waiter, id);
      } else {
        for (const k of attempt.blocked) full.add(k);
        wakeInMs = Math.min(wakeInMs, attempt.waitMs);
      }
    }
    return wakeInMs;
  }

  async #attempt(keys: readonly string[], id: string): Promise<Attempt> {
    const redisKeys = keys.flatMap((k) => [this.#logKey(k), this.#penaltyKey(k)]);
    const args = [id, ...keys.flatMap((k) => [this.#rule(k).limit, this.#rule(k).windowMs])];
    const reply = (await acquireScript.run(this.redis.client, redisKeys, args)) as number[];
    const [waitMs = 0, ...blocked] = reply;
    if (waitMs <= 0) return { granted: true };
    return { granted: false, waitMs, blocked: blocked.map((i) => keys[i - 1]!) };
  }

  #grant(waiter: Waiter, id: string): void {
    if (!this.#settle(waiter)) {
      // Aborted while the script ran: the request will never be sent, so give the slot back.
      this.#giveBack(waiter.keys, id);
      return;
    }
    this.#waited += Date.now() - waiter.since;
    waiter.resolve(this.#releaser(waiter.keys, id));
  }

  #toFallback(waiter: Waiter): void {
    if (!this.#settle(waiter)) return;
    this.#viaFallback(waiter.keys, waiter.signal, waiter.since).then(waiter.resolve, waiter.reject);
  }

  #giveBack(keys: readonly string[], id: string): void {
    const pipeline = this.redis.client.pipeline();
    for (const k of keys) pipeline.zrem(this.#logKey(k), id);
    // Best effort: if it fails, the slot just counts as used until it leaves the window.
    pipeline.exec().catch(() => {});
  }

  /** Counts the request from its completion (see RateLimitRelease). */
  #releaser(keys: readonly string[], id: string): RateLimitRelease {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const logs = keys.map((k) => this.#logKey(k));
      const windows = keys.map((k) => this.#rule(k).windowMs);
      const credit = releaseCreditMs(keys.map((k) => this.#rule(k)));
      // Best effort: if Redis is gone, the grant keeps its grant time (the in-process limiter's behaviour without release).
      releaseScript.run(this.redis.client, logs, [id, ...windows, credit]).catch(() => {});
    };
  }
}
