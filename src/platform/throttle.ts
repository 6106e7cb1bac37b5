/**
 * Sign-in throttling (ASVS 6.3.1, OWASP Authentication Cheat Sheet).
 *
 * Per account: after `threshold` consecutive failures each further attempt
 * waits 1 s, 2 s, 4 s… up to `maxDelayMs`. Attempts made while waiting are
 * refused without checking the password and are not counted, so a stranger
 * can add at most one failure per delay and never lock anyone out for
 * longer than `maxDelayMs`; a quiet quarter of an hour, or a success, starts
 * over. Unknown emails are counted alike, so the lockout reveals nothing.
 *
 * Per address: `addressLimit` failures in a quarter of an hour stop that
 * address's sign-ins (password spraying over many accounts).
 */
import type { Counters } from './counters.js';
import { sha256Hex } from './tokens.js';

export const THROTTLE_WINDOW_MS = 15 * 60_000;
const BASE_DELAY_MS = 1000;

export interface ThrottleOptions {
  threshold: number;
  maxDelayMs: number;
  addressLimit: number;
}

export class LoginThrottle {
  constructor(
    private readonly counters: Counters,
    private readonly options: ThrottleOptions,
  ) {}

  #accountKey(email: string): string {
    return `login:acct:${sha256Hex(email)}`;
  }

  #addressKey(ip: string): string {
    return `login:ip:${sha256Hex(ip)}`;
  }

  /** Milliseconds to wait before this sign-in may be tried, or 0. */
  async waitMs(email: string, ip: string, now = Date.now()): Promise<number> {
    const [account, address] = await Promise.all([
      this.counters.peek(this.#accountKey(email), 'quiet', THROTTLE_WINDOW_MS, now),
      this.counters.peek(this.#addressKey(ip), 'quiet', THROTTLE_WINDOW_MS, now),
    ]);
    let wait = 0;
    if (account) wait = Math.max(wait, account.lastAt + this.delayAfter(account.count) - now);
    if (address && address.count >= this.options.addressLimit) {
      wait = Math.max(wait, address.lastAt + THROTTLE_WINDOW_MS - now);
    }
    return Math.max(0, wait);
  }

  /** The delay after `failures` consecutive failures. */
  delayAfter(failures: number): number {
    if (failures < this.options.threshold) return 0;
    const doublings = Math.min(failures - this.options.threshold, 20);
    return Math.min(BASE_DELAY_MS * 2 ** doublings, this.options.maxDelayMs);
  }

  async failed(email: string, ip: string, now = Date.now()): Promise<void> {
    await Promise.all([
      this.counters.hit(this.#accountKey(email), 'quiet', THROTTLE_WINDOW_MS, now),
      this.counters.hit(this.#addressKey(ip), 'quiet', THROTTLE_WINDOW_MS, now),
    ]);
  }

  /** A success clears the account's failures (not the address's: one good password does not excuse a spray). */
  async succeeded(email: string): Promise<void> {
    await this.counters.clear(this.#accountKey(email));
  }

  async forget(email: string): Promise<void> {
    await this.counters.clear(this.#accountKey(email));
  }
}
