import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Kysely,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from 'kysely';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { Database } from './schema.js';

/** How long to wait for a connection: fail fast at startup, and answer 503 quickly when the database is gone. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Default longest wait for one query's answer. A database that stops answering
 * without closing the connection (a black-holed network, a frozen host) would
 * otherwise hold every request, and shutdown, forever.
 */
export const QUERY_TIMEOUT_MS = 5_000;
/**
 * Per-query limit while migrating: DDL on a big table, or waiting for another
 * replica's migration lock, can legitimately take much longer than a request's query.
 */
export const MIGRATION_QUERY_TIMEOUT_MS = 10 * 60_000;
/** How long close() lets the pool end politely before destroying its sockets. */
export const CLOSE_TIMEOUT_MS = 2_000;

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  /** Longest wait in ms for one query's answer (pg's query_timeout); default {@link QUERY_TIMEOUT_MS}, 0 for none. */
  queryTimeoutMs?: number;
  /** Connection errors of idle or in-between-queries clients (already handled; for logging). */
  onError?: (error: Error) => void;
}

export interface PostgresDb {
  db: Kysely<Database>;
  /** Runs `work` (migrations) with {@link MIGRATION_QUERY_TIMEOUT_MS} per query instead of queryTimeoutMs. */
  withMigrationTimeout<T>(work: () => Promise<T>): Promise<T>;
}

export async function openPostgresDb(options: PostgresOptions): Promise<PostgresDb> {
  // Loaded on demand: stdio users never need pg.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'airtable-mcp-kit',
  });
  const onError = (error: Error): void => options.onError?.(error);
  // Without listeners a dropped connection is an unhandled 'error' event and kills the process.
  // The pool drops broken clients itself and opens new ones on the next query.
  pool.on('error', onError);
  // pg-pool only listens on idle clients; a checked-out client (e.g. inside a transaction) needs its own.
  pool.on('connect', (client) => client.on('error', onError));
  const queryTimeoutMs = options.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
  if (!(queryTimeoutMs >= 0)) throw new RangeError(`queryTimeoutMs must be >= 0, not ${queryTimeoutMs}`);
  const migrating = new AsyncLocalStorage<true>();
  const timeouts = {
    current: () =>
      migrating.getStore() && queryTimeoutMs > 0
        ? Math.max(queryTimeoutMs, MIGRATION_QUERY_TIMEOUT_MS)
        : queryTimeoutMs,
  };
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new BoundedPool(pool, timeouts) }),
  });
  return { db, withMigrationTimeout: (work) => migrating.run(true, work) };
}

/** pg reports an expired query_timeout with this message (errors.ts maps it to "unavailable"). */
const READ_TIMEOUT = /query read timeout/i;

/**
 * The pg pool as Kysely sees it, with two additions for a database that stops
 * answering without closing the connection: each query has a read timeout, and
 * a client whose query timed out is destroyed on release instead of going back
 * to the pool (its connection is still waiting for that answer, so every later
 * query on it would time out too, even once a failover made the database
 * reachable again on new connections). end() is bounded: after
 * {@link CLOSE_TIMEOUT_MS} the remaining sockets are destroyed.
 */
class BoundedPool implements PostgresPool {
  readonly #clients = new Set<PoolClient>();

  constructor(
    private readonly pool: Pool,
    private readonly timeouts: { current(): number },
  ) {
    pool.on('connect', (client) => this.#clients.add(client));
    pool.on('remove', (client) => this.#clients.delete(client));
  }

  async connect(): Promise<PostgresPoolClient> {
    return new TimedClient(await this.pool.connect(), this.timeouts.current);
  }

  async end(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = this.pool.end().then(
      () => true,
      () => true,
    );
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    const polite = await Promise.race([ended, gaveUp]);
    clearTimeout(timer);
    if (polite) return;
    // Clients still waiting for the server (a query in flight, or pg's goodbye unanswered).
    for (const client of this.#clients) client.connection.stream.destroy();
    this.#clients.clear();
  }
}

class TimedClient {
  #timedOut: Error | undefined;

  constructor(
    private readonly client: PoolClient,
    private readonly timeoutMs: () => number,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters: ReadonlyArray<unknown> = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Cursors (Kysely's stream(), unused here) pass through untimed.
    if (typeof sqlOrCursor !== 'string') return this.client.query(sqlOrCursor as never) as PostgresCursor<R>;
    return this.#query<R>(sqlOrCursor, parameters);
  }

  #query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    // Later queries of the same checkout (a transaction's rollback) would only queue behind the lost answer.
    if (this.#timedOut) return Promise.reject(this.#timedOut);
    const timeoutMs = this.timeoutMs();
    const config: QueryConfig & { query_timeout?: number } = { text: sql, values: [...parameters] };
    if (timeoutMs > 0) config.query_timeout = timeoutMs;
    return this.client.query(config).then(
      (result) => result as unknown as PostgresQueryResult<R>,
      (error: unknown) => {
        if (error instanceof Error && READ_TIMEOUT.test(error.message)) {
          this.#timedOut = new Error(`Query read timeout: no answer from PostgreSQL within ${timeoutMs} ms`, {
            cause: error,
          });
          throw this.#timedOut;
        }
        throw error;
      },
    );
  }

  release(): void {
    // With an error, pg-pool removes the client and ends it; pg destroys the socket of a client with a query in flight.
    this.client.release(this.#timedOut);
  }
}

/** `postgres://host:port/database`: where the data is, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || '5432';
    return `${parsed.protocol}//${parsed.hostname}:${port}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparseable DATABASE_URL)';
  }
}

/** Removes the URL's password from a message, in case a driver ever echoes it. */
export function redactPassword(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return message;
  }
  return password.length >= 3 ? message.split(password).join('***') : message;
}
