import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.js';

/** How long to wait for a connection: fail fast at startup, and answer 503 quickly when the database is gone. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  /** Connection errors of idle or in-between-queries clients (already handled; for logging). */
  onError?: (error: Error) => void;
}

export async function openPostgresDb(options: PostgresOptions): Promise<Kysely<Database>> {
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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
