/**
 * Throwaway PostgreSQL databases for tests: each call creates a new empty
 * database on the machine's server (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test); dropAll() removes them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function adminQuery(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

export interface TestDatabases {
  /** A brand-new empty database's URL. */
  create(prefix?: string): Promise<string>;
  dropAll(): Promise<void>;
}

export function testDatabases(): TestDatabases {
  const created: string[] = [];
  return {
    async create(prefix = 'amk_test') {
      const name = `${prefix}_${randomBytes(6).toString('hex')}`;
      await adminQuery(`create database "${name}"`);
      created.push(name);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropAll() {
      for (const name of created.splice(0)) {
        await adminQuery('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
        await adminQuery(`drop database if exists "${name}"`);
      }
    },
  };
}
