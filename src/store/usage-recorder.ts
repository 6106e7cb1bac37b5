/**
 * Usage records (tool, outcome, duration, key) go to the store in batches:
 * one transaction a second instead of a write per tool call. While the
 * database is unreachable they wait in a bounded buffer (the oldest are
 * dropped past it) and the outage is logged once, not per call.
 */
import type { Logger } from '../logger.js';
import type { Store, UsageRecord } from './types.js';

export interface UsageRecorderOptions {
  store: Store;
  logger: Logger;
  flushMs?: number;
  maxBuffered?: number;
}

export class UsageRecorder {
  #buffer: UsageRecord[] = [];
  #timer?: NodeJS.Timeout;
  #flushing?: Promise<void>;
  #failing = false;
  #dropped = 0;

  constructor(private readonly options: UsageRecorderOptions) {}

  record(record: UsageRecord): void {
    this.#buffer.push(record);
    const max = this.options.maxBuffered ?? 10_000;
    if (this.#buffer.length > max) {
      this.#dropped += this.#buffer.length - max;
      this.#buffer = this.#buffer.slice(-max);
    }
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.options.flushMs ?? 1_000);
    this.#timer.unref();
  }

  /** Write what is buffered in one transaction; on failure keep it for the next try. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Write everything still buffered, including what arrived during a flush already running. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    do await this.flush();
    while (this.#buffer.length && !this.#failing);
  }

  async #write(): Promise<void> {
    if (!this.#buffer.length) return;
    const batch = this.#buffer;
    this.#buffer = [];
    try {
      await this.options.store.recordUsage(batch);
      if (this.#failing)
        this.options.logger.info({ dropped: this.#dropped }, 'usage records are written again');
      this.#failing = false;
      this.#dropped = 0;
    } catch (error) {
      this.#buffer = [...batch, ...this.#buffer];
      if (!this.#failing)
        this.options.logger.warn({ err: error }, 'usage records cannot be written; keeping them buffered');
      this.#failing = true;
    }
  }
}
