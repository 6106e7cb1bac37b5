/**
 * Whether a user of the shared Redis should send it commands now: not while
 * the connection is down, nor for `pauseMs` after one of its commands failed.
 * A Redis that stops answering without closing the connection would otherwise
 * cost every call a command timeout. The pause ends early when the connection
 * comes back.
 */
import type { SharedRedis } from './connection.js';

export class RedisFailurePause {
  #until = 0;

  constructor(
    private readonly redis: SharedRedis,
    private readonly pauseMs: number,
  ) {
    redis.onStatusChange((status) => {
      if (status === 'ok') this.#until = 0;
    });
  }

  get usable(): boolean {
    return this.redis.status === 'ok' && Date.now() >= this.#until;
  }

  /** A command failed: pause, and let SharedRedis log it (once per episode). */
  failed(error: unknown): void {
    this.#until = Date.now() + this.pauseMs;
    this.redis.reportCommandError(error);
  }
}
