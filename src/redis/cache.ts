/**
 * Response cache for Airtable reads (base list, schemas, optionally records).
 *
 * Keys are `:`-separated paths (`schema:appX`, `records:appX:tblY:...`).
 * `invalidate('records:appX:*')` drops every key under that prefix and
 * `invalidate('*')` drops everything. In Redis a namespace has a version
 * that is part of each key's name, so invalidating one is a single SET of a
 * new version however many keys it holds (no SCAN/KEYS); the orphans expire by TTL.
 *
 * Values are stored as JSON in both implementations, so callers get the same
 * copies (never a shared object) whichever one is configured.
 */
import { randomBytes } from 'node:crypto';
import type { SharedRedis } from './connection.js';
import { RedisFailurePause } from './failure-pause.js';

export interface ResponseCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Invalidate one key, or every key of a namespace (`ns:*` form; `*` for all). */
  invalidate(keyOrNamespace: string): Promise<void>;
}

/**
 * Longest TTL accepted. Namespace versions also live this long after their
 * last bump, then read as `0` again. That is safe because every version is a
 * new unique value, never reused: entries written under an expired version
 * stay orphaned whatever comes later, and entries written under `0` before the
 * first bump have expired by the time the version key does. (A counter would
 * not be: after expiry it would count 1, 2... again and revive entries written
 * under those numbers less than MAX_CACHE_TTL_MS ago.)
 */
export const MAX_CACHE_TTL_MS = 24 * 60 * 60 * 1000;

/** A namespace version never used before: time plus randomness (base 36, no `.` or `#`). */
function newVersion(): string {
  return `${Date.now().toString(36)}${randomBytes(5).readUIntBE(0, 5).toString(36)}`;
}

/** The key prefix a namespace pattern covers (`a:b:*` → `a:b:`, `*` → ``), or undefined for a plain key. */
function namespacePrefix(keyOrNamespace: string): string | undefined {
  if (keyOrNamespace === '*') return '';
  return keyOrNamespace.endsWith(':*') ? keyOrNamespace.slice(0, -1) : undefined;
}

/** Every namespace a key belongs to, outermost first: `a:b:c` → ``, `a:`, `a:b:`. */
function namespacesOf(key: string): string[] {
  const prefixes = [''];
  for (let at = key.indexOf(':'); at >= 0; at = key.indexOf(':', at + 1)) prefixes.push(key.slice(0, at + 1));
  return prefixes;
}

function parse<T>(json: string | null | undefined): T | undefined {
  if (json == null) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined; // not ours or truncated: a miss, not an error
  }
}

export function createMemoryCache(options: { maxEntries?: number } = {}): ResponseCache {
  return new MemoryCache(options.maxEntries ?? 1000);
}

/** Least-recently-used map with per-entry expiry. */
class MemoryCache implements ResponseCache {
  #entries = new Map<string, { json: string; expiresAt: number }>();

  constructor(private readonly maxEntries: number) {}

  async get<T>(key: string): Promise<T | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return parse<T>(entry.json);
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const json = JSON.stringify(value);
    this.#entries.delete(key);
    if (json === undefined || !(ttlMs > 0)) return;
    this.#entries.set(key, { json, expiresAt: Date.now() + Math.min(ttlMs, MAX_CACHE_TTL_MS) });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  async invalidate(keyOrNamespace: string): Promise<void> {
    const prefix = namespacePrefix(keyOrNamespace);
    if (prefix === undefined) {
      this.#entries.delete(keyOrNamespace);
      return;
    }
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#entries.delete(key);
  }
}

/** After a failed command, how long to stay on the fallback before trying Redis again. */
const RETRY_AFTER_FAILURE_MS = 1000;

export function createRedisCache(options: { redis: SharedRedis; fallback?: ResponseCache }): ResponseCache {
  return new RedisCache(options.redis, options.fallback ?? createMemoryCache());
}

/**
 * While Redis is unavailable the fallback stands in. When Redis returns, the
 * fallback is emptied (other replicas' writes never reached it) and the
 * invalidations Redis missed meanwhile are applied, so neither side serves
 * data this server knows to be stale.
 */
class RedisCache implements ResponseCache {
  readonly #pause: RedisFailurePause;
  /** The fallback has been used since Redis was last in charge. */
  #degraded = false;
  /** Invalidations that could not reach Redis. */
  #missed = new Set<string>();
  #recovering: Promise<void> | undefined;

  constructor(
    private readonly redis: SharedRedis,
    private readonly fallback: ResponseCache,
  ) {
    // Created first, so its pause has ended by the time the recovery below runs.
    this.#pause = new RedisFailurePause(redis, RETRY_AFTER_FAILURE_MS);
    redis.onStatusChange((status) => {
      if (status === 'ok') void this.#recover();
    });
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (!(await this.#redisUsable())) return this.fallback.get<T>(key);
    try {
      const json = await this.redis.client.get(await this.#valueKey(key));
      this.redis.reportCommandOk();
      return parse<T>(json);
    } catch (err) {
      this.#failed(err);
      return this.fallback.get<T>(key);
    }
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined || !(ttlMs > 0)) return this.invalidate(key);
    const ms = Math.ceil(Math.min(ttlMs, MAX_CACHE_TTL_MS));
    if (!(await this.#redisUsable())) return this.fallback.set(key, value, ms);
    try {
      await this.redis.client.set(await this.#valueKey(key), json, 'PX', ms);
      this.redis.reportCommandOk();
    } catch (err) {
      this.#failed(err);
      await this.fallback.set(key, value, ms);
    }
  }

  async invalidate(keyOrNamespace: string): Promise<void> {
    // The fallback may hold the key from an earlier outage, or hold it again in the next one.
    await this.fallback.invalidate(keyOrNamespace);
    if (!(await this.#redisUsable())) {
      this.#missed.add(keyOrNamespace);
      return;
    }
    try {
      await this.#invalidateInRedis(keyOrNamespace);
      this.redis.reportCommandOk();
    } catch (err) {
      this.#missed.add(keyOrNamespace);
      this.#failed(err);
    }
  }

  async #invalidateInRedis(keyOrNamespace: string): Promise<void> {
    const prefix = namespacePrefix(keyOrNamespace);
    if (prefix === undefined) {
      await this.redis.client.del(await this.#valueKey(keyOrNamespace));
      return;
    }
    await this.redis.client.set(this.#versionKey(prefix), newVersion(), 'PX', MAX_CACHE_TTL_MS);
  }

  #versionKey(prefix: string): string {
    return `${this.redis.keyPrefix}cache:ver:${prefix}`;
  }

  /** The Redis key of `key` under the current versions of all its namespaces. */
  async #valueKey(key: string): Promise<string> {
    const versions = await this.redis.client.mget(namespacesOf(key).map((ns) => this.#versionKey(ns)));
    return `${this.redis.keyPrefix}cache:val:${key}#${versions.map((v) => v ?? '0').join('.')}`;
  }

  /** Whether to use Redis now; finishes a pending recovery first so the fallback never outlives it. */
  async #redisUsable(): Promise<boolean> {
    if (!this.#pause.usable) {
      this.#degraded = true;
      return false;
    }
    if (this.#degraded || this.#missed.size > 0) await this.#recover();
    return this.#pause.usable;
  }

  #failed(err: unknown): void {
    this.#degraded = true;
    this.#pause.failed(err);
  }

  #recover(): Promise<void> {
    this.#recovering ??= this.#doRecover().finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  async #doRecover(): Promise<void> {
    if (this.#degraded) {
      this.#degraded = false;
      await this.fallback.invalidate('*');
    }
    for (const missed of [...this.#missed]) {
      try {
        await this.#invalidateInRedis(missed);
        this.#missed.delete(missed);
      } catch (err) {
        this.#failed(err);
        return; // still missed; tried again on the next recovery
      }
    }
  }
}
