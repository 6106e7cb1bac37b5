/**
 * Counters shared by every replica, for sign-in throttling and rate limits:
 * in Redis when it is configured and up (one atomic script per hit), in the
 * store otherwise (one atomic upsert per hit). Both keep the same state:
 * a count, when its window started and the last hit.
 *
 * Two kinds of window: 'quiet' restarts after `windowMs` without a hit
 * (consecutive failures), 'fixed' restarts `windowMs` after its first hit
 * (N per minute).
 */
import { type Kysely, sql } from 'kysely';
import { RedisFailurePause } from '../redis/failure-pause.js';
import type { SharedRedis } from '../redis/index.js';
import { RedisScript } from '../redis/script.js';
import type { PlatformTables } from './tables.js';

export type WindowKind = 'quiet' | 'fixed';

export interface CounterState {
  count: number;
  windowStartedAt: number;
  lastAt: number;
}

export interface Counters {
  hit(key: string, kind: WindowKind, windowMs: number, now?: number): Promise<CounterState>;
  /** The current state, or undefined when the window has passed (or nothing was counted). */
  peek(key: string, kind: WindowKind, windowMs: number, now?: number): Promise<CounterState | undefined>;
  clear(key: string): Promise<void>;
}

// KEYS[1] counter; ARGV now, windowMs, kind. Expiry ends the window, so nothing needs cleaning up.
const HIT_LUA = `
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n == 1 then redis.call('HSET', KEYS[1], 's', ARGV[1]) end
redis.call('HSET', KEYS[1], 't', ARGV[1])
if ARGV[3] == 'quiet' or n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {n, redis.call('HGET', KEYS[1], 's')}
`;
const hitScript = new RedisScript(HIT_LUA);

export class StoreCounters implements Counters {
  constructor(private readonly db: Kysely<PlatformTables>) {}

  async hit(key: string, kind: WindowKind, windowMs: number, now = Date.now()): Promise<CounterState> {
    const at = new Date(now).toISOString();
    const cutoff = new Date(now - windowMs).toISOString();
    const startColumn = kind === 'quiet' ? 'last_at' : 'window_started_at';
    const expired = sql<boolean>`${sql.ref(`platform_counters.${startColumn}`)} < ${cutoff}`;
    const row = await this.db
      .insertInto('platform_counters')
      .values({ key, count: 1, window_started_at: at, last_at: at })
      .onConflict((conflict) =>
        conflict.column('key').doUpdateSet({
          count: sql<number>`case when ${expired} then 1 else platform_counters.count + 1 end`,
          window_started_at: sql<string>`case when ${expired} then ${at} else platform_counters.window_started_at end`,
          last_at: at,
        }),
      )
      .returning(['count', 'window_started_at', 'last_at'])
      .executeTakeFirstOrThrow();
    return toState(row);
  }

  async peek(
    key: string,
    kind: WindowKind,
    windowMs: number,
    now = Date.now(),
  ): Promise<CounterState | undefined> {
    const row = await this.db
      .selectFrom('platform_counters')
      .select(['count', 'window_started_at', 'last_at'])
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) return undefined;
    const state = toState(row);
    const start = kind === 'quiet' ? state.lastAt : state.windowStartedAt;
    return start < now - windowMs ? undefined : state;
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('platform_counters').where('key', '=', key).execute();
  }

  /** Rows whose last hit is older than any window (the retention job calls it). */
  async prune(olderThan: string): Promise<void> {
    await this.db.deleteFrom('platform_counters').where('last_at', '<', olderThan).execute();
  }
}

function toState(row: { count: number | string; window_started_at: string; last_at: string }): CounterState {
  return {
    count: Number(row.count),
    windowStartedAt: Date.parse(row.window_started_at),
    lastAt: Date.parse(row.last_at),
  };
}

/**
 * After a failed command the store answers alone for this long: with a Redis
 * that stopped answering, a sign-in waiting out a command timeout each time
 * would let the lockout's 1 s delays expire while sign-ins wait.
 */
const RETRY_AFTER_FAILURE_MS = 5_000;

export class RedisCounters implements Counters {
  readonly #pause: RedisFailurePause;

  constructor(
    private readonly redis: SharedRedis,
    private readonly fallback: Counters,
  ) {
    this.#pause = new RedisFailurePause(redis, RETRY_AFTER_FAILURE_MS);
  }

  #key(key: string): string {
    return `${this.redis.keyPrefix}platform:n:${key}`;
  }

  /** Redis while it is up; the store while it is down or failing (degraded, never refused). */
  async #either<T>(viaRedis: () => Promise<T>, viaStore: () => Promise<T>): Promise<T> {
    if (!this.#pause.usable) return viaStore();
    try {
      const result = await viaRedis();
      this.redis.reportCommandOk();
      return result;
    } catch (error) {
      this.#pause.failed(error);
      return viaStore();
    }
  }

  hit(key: string, kind: WindowKind, windowMs: number, now = Date.now()): Promise<CounterState> {
    return this.#either(
      async () => {
        const [count, started] = (await hitScript.run(
          this.redis.client,
          [this.#key(key)],
          [now, windowMs, kind],
        )) as [number, string];
        return { count: Number(count), windowStartedAt: Number(started), lastAt: now };
      },
      () => this.fallback.hit(key, kind, windowMs, now),
    );
  }

  peek(key: string, kind: WindowKind, windowMs: number, now = Date.now()): Promise<CounterState | undefined> {
    return this.#either(
      async () => {
        const [count, started, last] = await this.redis.client.hmget(this.#key(key), 'n', 's', 't');
        if (!count) return undefined;
        return { count: Number(count), windowStartedAt: Number(started), lastAt: Number(last) };
      },
      () => this.fallback.peek(key, kind, windowMs, now),
    );
  }

  async clear(key: string): Promise<void> {
    // Both: a failure counted in the store while Redis was down must not outlive a success, nor one
    // counted in Redis before. While Redis is failing its delete is still sent, but not waited for.
    const viaRedis = this.redis.client.del(this.#key(key)).then(
      () => this.redis.reportCommandOk(),
      (error: unknown) => this.#pause.failed(error),
    );
    await Promise.allSettled([this.#pause.usable ? viaRedis : undefined, this.fallback.clear(key)]);
  }
}
