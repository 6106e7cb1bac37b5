/**
 * In-process RateLimiter: a sliding log of grant times per key.
 *
 * A sliding log (rather than fixed windows) guarantees that ANY interval of
 * `windowMs` contains at most `limit` grants; fixed windows allow 2×limit
 * across a boundary, which Airtable (measuring its own windows) answers with a
 * 30-second penalty. The default window of 1050 ms for a 1 s limit is ~5%
 * headroom for network jitter between our grant and Airtable's clock.
 *
 * Jitter can be far larger than 5% (a cold connection's TLS handshake, a busy
 * event loop), so a grant also returns a release function: once called (when
 * the response arrives), the request counts from that moment instead. Airtable
 * received it somewhere between grant and response, so a window measured from
 * the response can only overcount. That bound needs no jitter headroom, so a
 * released request is credited the rule's `headroomMs`: it counts from its
 * completion minus the headroom (never from before its grant), and frees its
 * slot a plain second after its response. For one request at a time (batch
 * writes) that saves 50 ms of waiting per five requests. Callers that ignore
 * the release get the plain grant-time log.
 *
 * Waiters are served in arrival order. A waiter takes a slot in all of its keys
 * at once or none: it never holds one key's slot while waiting for another's.
 * The price is that a waiter blocked by key A does not reserve key B, so a
 * later waiter that needs only B may go first — B's slot would otherwise sit
 * idle. It cannot starve: once A frees, the earlier waiter is first in line
 * for A, and every later competitor for B is behind it in the same pass.
 */
import type { RateLimiter, RateLimitRelease } from './limiter.js';

export interface RateLimit {
  limit: number;
  windowMs: number;
  /**
   * The part of `windowMs` that is headroom for the time between a grant and
   * Airtable receiving the request. A released request counts from its
   * completion minus this (see the file comment). Default 0.
   */
  headroomMs?: number;
}

export interface MemoryLimiterOptions {
  /** For keys starting with `base:` (and any key not starting with `token:`). */
  perBase?: RateLimit;
  /** For keys starting with `token:`. */
  perToken?: RateLimit;
}

export const AIRTABLE_PER_BASE: RateLimit = { limit: 5, windowMs: 1050, headroomMs: 50 };
export const AIRTABLE_PER_TOKEN: RateLimit = { limit: 50, windowMs: 1050, headroomMs: 50 };

/** What a released request is credited: the smallest headroom of its keys' rules, so no key loses its margin. */
export function releaseCreditMs(rules: readonly RateLimit[]): number {
  return Math.max(0, Math.min(...rules.map((rule) => rule.headroomMs ?? 0)));
}

export function checkRule(rule: RateLimit): void {
  const headroom = rule.headroomMs ?? 0;
  if (!(rule.limit >= 1 && rule.windowMs > 0 && headroom >= 0 && headroom < rule.windowMs))
    throw new RangeError('Rate limit needs limit >= 1, windowMs > 0 and 0 <= headroomMs < windowMs');
}

/** One granted request, shared by the logs of all its keys. */
interface Entry {
  /** Grant time, moved to the completion time (less the credit) on release. */
  t: number;
}

interface KeyState {
  rule: RateLimit;
  /** Entries in ascending `t`, pruned to the current window. */
  log: Entry[];
  closedUntil: number;
}

interface Waiter {
  keys: readonly string[];
  since: number;
  resolve: (release: RateLimitRelease) => void;
  detach: () => void;
}

export function createMemoryLimiter(opts: MemoryLimiterOptions = {}): RateLimiter {
  return new MemoryLimiter(opts.perBase ?? AIRTABLE_PER_BASE, opts.perToken ?? AIRTABLE_PER_TOKEN);
}

class MemoryLimiter implements RateLimiter {
  #states = new Map<string, KeyState>();
  #queue: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waited = 0;

  constructor(
    private readonly perBase: RateLimit,
    private readonly perToken: RateLimit,
  ) {
    checkRule(perBase);
    checkRule(perToken);
  }

  get waitedMs(): number {
    return this.#waited;
  }

  acquire(keys: readonly string[], signal?: AbortSignal): Promise<RateLimitRelease> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<RateLimitRelease>((resolve, reject) => {
      const waiter: Waiter = { keys: [...new Set(keys)], since: Date.now(), resolve, detach: () => {} };
      if (signal) {
        const onAbort = () => {
          this.#queue = this.#queue.filter((w) => w !== waiter);
          reject(signal.reason);
          this.#pump();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  penalize(key: string, untilEpochMs: number): void {
    const state = this.#state(key);
    state.closedUntil = Math.max(state.closedUntil, untilEpochMs);
    this.#pump();
  }

  #state(key: string): KeyState {
    let state = this.#states.get(key);
    if (!state) {
      state = { rule: key.startsWith('token:') ? this.perToken : this.perBase, log: [], closedUntil: 0 };
      this.#states.set(key, state);
    }
    return state;
  }

  /** Earliest time at which `key` has a free slot (≤ now means now). */
  #freeAt(key: string, now: number): number {
    const state = this.#state(key);
    const { log, rule } = state;
    let drop = 0;
    while (drop < log.length && log[drop]!.t <= now - rule.windowMs) drop++;
    if (drop > 0) log.splice(0, drop);
    const slotAt = log.length < rule.limit ? now : log[log.length - rule.limit]!.t + rule.windowMs;
    return Math.max(slotAt, state.closedUntil);
  }

  /** Grants every waiter that can go now, in arrival order, and schedules the next look. */
  #pump(): void {
    const now = Date.now();
    let wakeAt = Number.POSITIVE_INFINITY;
    const still: Waiter[] = [];
    for (const waiter of this.#queue) {
      const readyAt = Math.max(...waiter.keys.map((k) => this.#freeAt(k, now)));
      if (readyAt > now) {
        still.push(waiter);
        wakeAt = Math.min(wakeAt, readyAt);
        continue;
      }
      const entry: Entry = { t: now };
      for (const k of waiter.keys) this.#state(k).log.push(entry);
      this.#waited += now - waiter.since;
      waiter.detach();
      waiter.resolve(this.#releaser(waiter.keys, entry));
    }
    this.#queue = still;
    this.#schedule(wakeAt, now);
  }

  /** Moves the entry to the end of each log, stamped now less the credit (re-adding it if it already left the window). */
  #releaser(keys: readonly string[], entry: Entry): RateLimitRelease {
    const credit = releaseCreditMs(keys.map((k) => this.#state(k).rule));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.t = Math.max(entry.t, Date.now() - credit);
      for (const k of keys) {
        const { log } = this.#state(k);
        const at = log.indexOf(entry);
        if (at >= 0) log.splice(at, 1);
        insertInOrder(log, entry);
      }
      // Capacity only shrinks here, so no waiter can become ready; the pending timer re-checks.
    };
  }

  #schedule(wakeAt: number, now: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!Number.isFinite(wakeAt)) return;
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(wakeAt - now)));
  }
}

/** Keeps the log ascending: a credited release may land before grants made in the last `headroomMs`. */
function insertInOrder(log: Entry[], entry: Entry): void {
  let at = log.length;
  while (at > 0 && log[at - 1]!.t > entry.t) at--;
  log.splice(at, 0, entry);
}
