/**
 * One shared Redis connection per process, with an up/down status that the
 * Redis-backed limiter, cache and event store consult to decide whether to use
 * Redis or their in-process stand-ins.
 *
 * The client never queues commands while disconnected (enableOfflineQueue
 * false): a request that needs a rate-limit slot must fall back at once rather
 * than wait for a reconnect that may take minutes. Reconnection is left to
 * ioredis with a retry strategy that never gives up, so recovery needs no
 * restart.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type RedisStatus = 'ok' | 'down';

export interface SharedRedisOptions {
  url: string;
  logger: Logger;
  /** Prepended to every key and channel, so several deployments can share one Redis. */
  keyPrefix?: string;
  /** Longest wait for one command before it counts as failed (a black-holed connection never errors). */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts. */
  maxReconnectDelayMs?: number;
}

export class SharedRedis {
  readonly keyPrefix: string;
  readonly client: Redis;
  readonly logger: Logger;
  #status: RedisStatus = 'down';
  /** The status last written to the log, so each transition is logged once, not once per event or request. */
  #announced: RedisStatus | undefined;
  #lastError: string | undefined;
  #listeners = new Set<(status: RedisStatus) => void>();
  #subscriber: Redis | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #commandTimeoutMs: number;
  /** A command failed while the connection looked fine (already logged once). */
  #commandFailing = false;

  constructor(options: SharedRedisOptions) {
    this.keyPrefix = options.keyPrefix ?? 'amk:';
    this.logger = options.logger;
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: this.#commandTimeoutMs,
      // Capped exponential backoff; never returns null, so ioredis keeps trying until close().
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    });
    this.#watch(this.client);
  }

  get status(): RedisStatus {
    return this.#status;
  }

  onStatusChange(listener: (status: RedisStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once connected or once the first attempt failed: an unreachable Redis means degraded, not dead. */
  connect(): Promise<void> {
    this.#connecting ??= this.client.connect().catch((err: unknown) => {
      this.#lastError = errorMessage(err);
      this.#setStatus('down');
    });
    return this.#connecting;
  }

  /** For health checks: rejects at once while disconnected (nothing is queued). */
  async ping(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const pong = this.client.ping().then(() => undefined);
    await (signal ? raceAbort(pong, signal) : pong);
  }

  /**
   * The connection for SUBSCRIBE (a subscribed connection can run nothing else).
   * Unlike the command client it queues while offline, so a subscription made
   * while Redis is down takes effect when it returns. Its commands time out
   * like the command client's (a black-holed connection never answers an
   * UNSUBSCRIBE). Resubscribing after a reconnect is the pub/sub's job
   * (pubsub.ts, on 'ready'), not ioredis's: its autoResubscribe drops the
   * SUBSCRIBE's promise, so one that times out is an unhandled rejection.
   */
  subscriber(): Redis {
    if (!this.#subscriber) {
      this.#subscriber = this.client.duplicate({
        lazyConnect: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        commandTimeout: this.#commandTimeoutMs,
        autoResubscribe: false,
      });
      // Errors are expected while Redis is down; the command client's status already reports them.
      this.#subscriber.on('error', () => {});
    }
    return this.#subscriber;
  }

  /**
   * Ends both connections, within about {@link QUIT_TIMEOUT_MS} even when
   * Redis stopped answering without closing the socket: the command client
   * gets a polite QUIT (pending replies still arrive) for that long, then is
   * dropped; the subscriber has nothing pending worth waiting for and is dropped at once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#listeners.clear();
      await Promise.all([quit(this.client), this.#subscriber && drop(this.#subscriber)]);
      this.#status = 'down';
    })();
    return this.#closing;
  }

  /**
   * For users of the client: a command failed. Connection losses are logged by
   * the status change; this logs what that cannot see (Redis answering with an
   * error, or a black-holed connection timing out), once until a command succeeds.
   */
  reportCommandError(err: unknown): void {
    if (this.#commandFailing || this.#closed || !isCommandError(err)) return;
    this.#commandFailing = true;
    this.logger.warn({ reason: errorMessage(err) }, 'redis: commands failing; using in-process fallbacks');
  }

  /** A command succeeded: ends a failure episode reported by reportCommandError. */
  reportCommandOk(): void {
    if (!this.#commandFailing) return;
    this.#commandFailing = false;
    this.logger.info('redis: commands succeed again');
  }

  #watch(client: Redis): void {
    // Without an 'error' listener ioredis prints to the console; the reason is kept for the one warn line.
    client.on('error', (err: unknown) => {
      this.#lastError = errorMessage(err);
    });
    client.on('ready', () => {
      this.#lastError = undefined;
      this.#setStatus('ok');
    });
    client.on('close', () => this.#setStatus('down'));
  }

  #setStatus(status: RedisStatus): void {
    if (this.#closed) return;
    this.#announce(status);
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch (err) {
        this.logger.error({ err }, 'redis: status listener failed');
      }
    }
  }

  #announce(status: RedisStatus): void {
    if (status === this.#announced) return;
    const previous = this.#announced;
    this.#announced = status;
    if (status === 'down') {
      const reason = this.#lastError ?? 'connection closed';
      this.logger.warn({ reason }, 'redis: unavailable; using in-process limiter and cache until it returns');
    } else {
      this.logger.info(previous === 'down' ? 'redis: connection restored' : 'redis: connected');
    }
  }
}

/** How long close() waits for Redis to answer QUIT before dropping the connection. */
export const QUIT_TIMEOUT_MS = 1000;

/**
 * QUIT when connected (lets pending replies arrive), but for at most
 * QUIT_TIMEOUT_MS: a black-holed connection never answers. Otherwise, or
 * after that, drop the socket and stop reconnecting.
 */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const answered = client.quit().then(
      () => true,
      () => false,
    );
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), QUIT_TIMEOUT_MS);
    });
    const done = await Promise.race([answered, gaveUp]);
    clearTimeout(timer);
    if (done) return;
  }
  await drop(client);
}

/** Longest wait for a dropped connection's 'end' (normally the next tick). */
const DROP_WAIT_MS = 500;

/**
 * Stop reconnecting and close the socket now. disconnect() alone only
 * half-closes it and waits up to ioredis's disconnectTimeout (2 s) for the
 * server's side, which a black-holed server never sends.
 */
async function drop(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.once('end', resolve);
    timer = setTimeout(resolve, DROP_WAIT_MS);
  });
  client.disconnect(false);
  client.stream?.destroy();
  if ((client.status as Redis['status']) !== 'end') await ended; // 'end' may have been emitted synchronously
  clearTimeout(timer);
}

/** Settles with `work`, or rejects with the signal's reason if it aborts first. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {}); // if the abort wins, the late rejection is not news
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort))
      .catch(() => {});
  });
}

/** Errors that are not a lost connection: Redis replied with an error, or did not reply in time. */
function isCommandError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ReplyError' || /timed out/i.test(err.message));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
