/**
 * The storage layer, one suite for every backend: SQLite in memory, SQLite in a
 * file, and the real PostgreSQL on this machine (skipped with a warning when it
 * is not running, unless REQUIRE_SERVICES=1).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Kysely, Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, keyId } from '../src/store/api-keys.js';
import { runKeys, runMigrate } from '../src/store/cli.js';
import {
  AmbiguousKeyError,
  defaultDataDir,
  type OpenStoreOptions,
  openStore,
  SqlStore,
  type Store,
  type StoreDialect,
  StoreUnavailableError,
  type UsageRecord,
} from '../src/store/index.js';
import { buildMigrations } from '../src/store/migrations/index.js';
import { type Database, MIGRATION_LOCK_TABLE, MIGRATION_TABLE, STORE_TABLES } from '../src/store/schema.js';
import { freePort } from './helpers/ports.js';
import { requireService } from './helpers/services.js';
import { type TcpProxy as BlackholeProxy, startTcpProxy } from './helpers/tcp-proxy.js';

const execFileAsync = promisify(execFile);
const MIGRATION_NAMES = Object.keys(buildMigrations('sqlite'));

// ---------------------------------------------------------------- PostgreSQL admin

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN = new URL(ADMIN_URL);
const PG_HOST = ADMIN.hostname;
const PG_PORT = Number(ADMIN.port || 5432);

async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** True, false (skip, warned once) or the error to fail with (REQUIRE_SERVICES=1). */
const pgStatus: boolean | Error = await requireService(
  'PostgreSQL',
  () => adminQuery('select 1'),
  `${PG_HOST}:${PG_PORT}${ADMIN.pathname}`,
).catch((error: Error) => error);

const createdDatabases: string[] = [];

/** A brand-new empty database; its URL, optionally through another host:port (the proxy). */
async function createDatabase(port = PG_PORT): Promise<{ name: string; url: string }> {
  const name = `amk_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  createdDatabases.push(name);
  return { name, url: databaseUrl(name, port) };
}

function databaseUrl(name: string, port = PG_PORT): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function dropCreatedDatabases(): Promise<void> {
  for (const name of createdDatabases.splice(0)) {
    await adminQuery('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    await adminQuery(`drop database if exists "${name}"`);
  }
}

// ---------------------------------------------------------------- targets

interface Target {
  label: string;
  dialect: StoreDialect;
  skip: boolean;
  /**
   * How to test concurrent migration: two stores in this process (PostgreSQL),
   * separate processes (a SQLite file: better-sqlite3 waits for a lock
   * synchronously, so two stores on one file in one process would block each
   * other), or not at all (:memory: databases are private).
   */
  concurrency: 'in-process' | 'processes' | 'none';
  setup(): Promise<void>;
  /** Options for a store on a new, empty database. */
  fresh(): Promise<OpenStoreOptions>;
  teardown(): Promise<void>;
}

const tempRoots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'amk-store-'));
  tempRoots.push(dir);
  return dir;
}

const targets: Target[] = [
  {
    label: 'sqlite :memory:',
    dialect: 'sqlite',
    skip: false,
    concurrency: 'none',
    setup: async () => {},
    fresh: async () => ({ sqliteFile: ':memory:' }),
    teardown: async () => {},
  },
  {
    label: 'sqlite file',
    dialect: 'sqlite',
    skip: false,
    concurrency: 'processes',
    setup: async () => {},
    // A directory that does not exist yet: openStore creates it.
    fresh: async () => ({ dataDir: join(tempDir(), 'data') }),
    teardown: async () => {
      for (const dir of tempRoots.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  },
  {
    label: 'postgres',
    dialect: 'postgres',
    skip: pgStatus === false,
    concurrency: 'in-process',
    setup: async () => {
      if (pgStatus instanceof Error) throw pgStatus;
    },
    fresh: async () => ({ databaseUrl: (await createDatabase()).url, poolSize: 4 }),
    teardown: dropCreatedDatabases,
  },
];

// ---------------------------------------------------------------- helpers

function dbOf(store: Store): Kysely<Database> {
  if (!(store instanceof SqlStore)) throw new Error('expected a SqlStore');
  return store.db;
}

async function countRows(store: Store, table: string): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
    dbOf(store),
  );
  return Number(rows[0]?.n);
}

function isoAgo(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

function usage(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    at: '2030-01-01T00:00:00.000Z',
    tool: 'list_records',
    outcome: 'ok',
    durationMs: 10,
    keyId: null,
    sessionId: null,
    ...overrides,
  };
}

const STORE_MODULE = fileURLToPath(new URL('../src/store/index.ts', import.meta.url));

/** Opens a store in each of `count` processes; they all call migrate() at the same moment. */
async function migrateInChildProcesses(options: OpenStoreOptions, count: number): Promise<string[][]> {
  const startAt = Date.now() + 2_000;
  const code = [
    `const { openStore } = await import(${JSON.stringify(pathToFileURL(STORE_MODULE).href)});`,
    `const store = await openStore({ ...${JSON.stringify(options)}, migrate: false });`,
    `await new Promise((resolve) => setTimeout(resolve, ${startAt} - Date.now()));`,
    'const applied = await store.migrate();',
    'await store.close();',
    'process.stdout.write(JSON.stringify(applied));',
  ].join('\n');
  const args = ['--import', 'tsx', '--input-type=module', '-e', code];
  const runs = Array.from({ length: count }, () =>
    execFileAsync(process.execPath, args, { timeout: 30_000 }),
  );
  return (await Promise.all(runs)).map(({ stdout }) => JSON.parse(stdout) as string[]);
}

function capture(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

// ---------------------------------------------------------------- the shared suite

describe.each(targets)('store: $label', (target) => {
  const test = target.skip ? it.skip : it;
  let store: Store;
  const extraStores: Store[] = [];

  /** Another store on a new empty database, closed after the test. */
  async function freshStore(
    options: Partial<OpenStoreOptions> = {},
  ): Promise<{ store: Store; options: OpenStoreOptions }> {
    const base = await target.fresh();
    const opened = await openStore({ ...base, ...options });
    extraStores.push(opened);
    return { store: opened, options: base };
  }

  beforeAll(async () => {
    if (target.skip) return;
    await target.setup();
    store = await openStore(await target.fresh());
  });

  afterAll(async () => {
    await store?.close();
    await target.teardown();
  });

  beforeEach(async () => {
    if (target.skip) return;
    for (const table of STORE_TABLES) await dbOf(store).deleteFrom(table).execute();
  });

  afterEach(async () => {
    for (const extra of extraStores.splice(0)) await extra.close();
  });

  test('reports its dialect and a location without credentials', () => {
    expect(store.dialect).toBe(target.dialect);
    expect(store.location).not.toMatch(/@/);
  });

  test('a fresh database is complete: every table exists', async () => {
    const { store: fresh } = await freshStore();
    for (const table of STORE_TABLES) expect(await countRows(fresh, table)).toBe(0);
    expect(await countRows(fresh, MIGRATION_TABLE)).toBe(MIGRATION_NAMES.length);
    const status = await fresh.migrationStatus();
    expect(status.map((m) => m.name)).toEqual(MIGRATION_NAMES);
    for (const m of status) expect(m.appliedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('migrating again is a no-op', async () => {
    const before = await store.migrationStatus();
    expect(await store.migrate()).toEqual([]);
    expect(await store.migrate()).toEqual([]);
    expect(await store.migrationStatus()).toEqual(before);
  });

  test('migrate: false opens without migrating; status shows pending, then applied', async () => {
    const { store: bare } = await freshStore({ migrate: false });
    expect(await bare.migrationStatus()).toEqual(MIGRATION_NAMES.map((name) => ({ name, appliedAt: null })));
    expect(await bare.migrate()).toEqual(MIGRATION_NAMES);
    const status = await bare.migrationStatus();
    expect(status.every((m) => m.appliedAt !== null)).toBe(true);
  });

  test('a failing migration leaves nothing of its run behind', async () => {
    const { store: bare } = await freshStore({ migrate: false });
    const broken = {
      ...buildMigrations(target.dialect),
      '002_broken': {
        async up(db: Kysely<unknown>) {
          await db.schema.createTable('half_done').addColumn('x', 'text').execute();
          await sql`select * from no_such_table`.execute(db);
        },
      },
    };
    const migrator = new Migrator({
      db: dbOf(bare),
      provider: { getMigrations: async () => broken },
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    const { error } = await migrator.migrateToLatest();
    expect(error).toBeDefined();
    const tables = await dbOf(bare).introspection.getTables();
    expect(tables.map((t) => t.name)).not.toContain('half_done');
    // The whole run rolled back, including 001 that came before the failure.
    expect(tables.map((t) => t.name)).not.toContain('api_keys');
    expect(await bare.migrate()).toEqual(MIGRATION_NAMES);
  });

  if (target.concurrency === 'in-process')
    test('two stores migrating one fresh database at once apply it exactly once', async () => {
      const options = await target.fresh();
      const [a, b] = await Promise.all([
        openStore({ ...options, migrate: false }),
        openStore({ ...options, migrate: false }),
      ]);
      extraStores.push(a, b);
      const applied = await Promise.all([a.migrate(), b.migrate()]);
      expect(applied.flat()).toEqual(MIGRATION_NAMES);
      expect(await countRows(a, MIGRATION_TABLE)).toBe(MIGRATION_NAMES.length);
      // And opening (which migrates) from two replicas at once succeeds too.
      const more = await target.fresh();
      const [c, d] = await Promise.all([openStore(more), openStore(more)]);
      extraStores.push(c, d);
      for (const table of STORE_TABLES) expect(await countRows(d, table)).toBe(0);
      expect(await countRows(c, MIGRATION_TABLE)).toBe(MIGRATION_NAMES.length);
    });

  if (target.concurrency === 'processes')
    test('three processes migrating one fresh database at once apply it exactly once', async () => {
      const options = await target.fresh();
      const applied = await migrateInChildProcesses(options, 3);
      expect(applied.flat()).toEqual(MIGRATION_NAMES);
      const { store: after } = await freshStore(options);
      expect(await countRows(after, MIGRATION_TABLE)).toBe(MIGRATION_NAMES.length);
      for (const table of STORE_TABLES) expect(await countRows(after, table)).toBe(0);
    });

  test('createApiKey returns the plaintext once and stores only its hash', async () => {
    const { key, record } = await store.createApiKey({ name: '  ci bot  ' });
    expect(key).toMatch(/^pya_[0-9a-f]{64}$/);
    expect(record).toEqual({
      id: keyId(key),
      name: 'ci bot',
      prefix: key.slice(0, 10),
      createdAt: expect.stringMatching(/Z$/),
      lastUsedAt: null,
      revokedAt: null,
    });
    const raw = await dbOf(store).selectFrom('api_keys').selectAll().execute();
    expect(raw).toHaveLength(1);
    expect(raw[0]?.hash).toBe(hashApiKey(key).toString('hex'));
    expect(JSON.stringify(raw)).not.toContain(key.slice(10));
    await expect(store.createApiKey({ name: ' ' })).rejects.toThrow(/name/);
  });

  test('listApiKeys lists every key, oldest first, without secrets', async () => {
    expect(await store.listApiKeys()).toEqual([]);
    const one = await store.createApiKey({ name: 'one' });
    const two = await store.createApiKey({ name: 'two' });
    const listed = await store.listApiKeys();
    expect(listed.map((k) => k.name).sort()).toEqual(['one', 'two']);
    expect(listed.find((k) => k.id === one.record.id)).toEqual(one.record);
    expect(JSON.stringify(listed)).not.toContain(two.key);
  });

  test('verifyApiKey accepts the key, rejects wrong, malformed and revoked ones', async () => {
    const { key, record } = await store.createApiKey({ name: 'v' });
    const verified = await store.verifyApiKey(key);
    expect(verified?.id).toBe(record.id);
    expect(verified?.lastUsedAt).not.toBeNull();
    expect(await store.verifyApiKey(`pya_${'0'.repeat(64)}`)).toBeUndefined();
    expect(await store.verifyApiKey('not-a-key')).toBeUndefined();
    await store.revokeApiKey(record.id);
    expect(await store.verifyApiKey(key)).toBeUndefined();
  });

  test('verifyApiKey refreshes last_used_at at most once a minute', async () => {
    const { key, record } = await store.createApiKey({ name: 'busy' });
    const setLastUsed = (at: string) =>
      dbOf(store).updateTable('api_keys').set({ last_used_at: at }).where('id', '=', record.id).execute();
    const rawLastUsed = async () =>
      (await dbOf(store).selectFrom('api_keys').select('last_used_at').executeTakeFirstOrThrow())
        .last_used_at;

    const recent = isoAgo(30_000);
    await setLastUsed(recent);
    expect((await store.verifyApiKey(key))?.lastUsedAt).toBe(recent);
    expect(await rawLastUsed()).toBe(recent);

    const old = isoAgo(90_000);
    await setLastUsed(old);
    const refreshed = (await store.verifyApiKey(key))?.lastUsedAt;
    expect(refreshed! > isoAgo(5_000)).toBe(true);
    expect(await rawLastUsed()).toBe(refreshed);
  });

  test('revokeApiKey by id, by prefix, by whole key; unknown is undefined', async () => {
    const a = await store.createApiKey({ name: 'a' });
    const b = await store.createApiKey({ name: 'b' });
    const c = await store.createApiKey({ name: 'c' });
    const byId = await store.revokeApiKey(a.record.id);
    expect(byId).toMatchObject({ id: a.record.id, revokedAt: expect.stringMatching(/Z$/) });
    expect((await store.revokeApiKey(b.record.prefix))?.id).toBe(b.record.id);
    expect((await store.revokeApiKey(c.key))?.id).toBe(c.record.id);
    // Revoking again keeps the first revocation time.
    expect((await store.revokeApiKey(a.record.id))?.revokedAt).toBe(byId?.revokedAt);
    expect(await store.revokeApiKey('key_000000000000')).toBeUndefined();
    expect(await store.revokeApiKey('pya_000000')).toBeUndefined();
    // Too short to be a prefix: matches nothing rather than many.
    expect(await store.revokeApiKey('pya_')).toBeUndefined();
    const listed = await store.listApiKeys();
    expect(listed.every((k) => k.revokedAt !== null)).toBe(true);
  });

  test('revokeApiKey refuses an ambiguous prefix', async () => {
    const { record } = await store.createApiKey({ name: 'real' });
    // Prefixes are 24 bits: collisions happen. Plant one.
    await dbOf(store)
      .insertInto('api_keys')
      .values({
        id: 'key_twin00000000',
        name: 'twin',
        prefix: record.prefix,
        hash: 'f'.repeat(64),
        created_at: new Date().toISOString(),
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    await expect(store.revokeApiKey(record.prefix)).rejects.toThrow(/^ambiguous key prefix.*2 keys/);
    await expect(store.revokeApiKey(record.prefix)).rejects.toBeInstanceOf(AmbiguousKeyError);
    expect((await store.listApiKeys()).every((k) => k.revokedAt === null)).toBe(true);
    expect((await store.revokeApiKey(record.id))?.revokedAt).not.toBeNull();
  });

  test('sessions: save, get, touch (forward only), close (once), save again keeps createdAt', async () => {
    const t0 = '2030-01-01T00:00:00.000Z';
    const t1 = '2030-01-01T00:05:00.000Z';
    const t2 = '2030-01-01T00:10:00.000Z';
    const session = {
      id: 'sess-1',
      keyId: 'key_abc',
      transport: 'streamable' as const,
      createdAt: t0,
      lastSeenAt: t0,
      closedAt: null,
    };
    await store.saveSession(session);
    expect(await store.getSession('sess-1')).toEqual(session);
    expect(await store.getSession('nope')).toBeUndefined();

    await store.touchSession('sess-1', t1);
    await store.touchSession('sess-1', t0);
    expect((await store.getSession('sess-1'))?.lastSeenAt).toBe(t1);

    await store.saveSession({ ...session, createdAt: t2, transport: 'sse', lastSeenAt: t2 });
    expect(await store.getSession('sess-1')).toMatchObject({
      createdAt: t0,
      transport: 'sse',
      lastSeenAt: t2,
    });

    await store.closeSession('sess-1', t2);
    await store.closeSession('sess-1', '2031-01-01T00:00:00.000Z');
    expect((await store.getSession('sess-1'))?.closedAt).toBe(t2);
    await expect(store.touchSession('sess-1', 'yesterday')).rejects.toThrow(RangeError);
  });

  test('recordUsage inserts a batch in one transaction: one bad row, nothing stored', async () => {
    await store.recordUsage([]);
    // Big enough to need several INSERTs; the bad row is in the last one.
    const batch = Array.from({ length: 1_200 }, (_, i) => usage({ durationMs: i }));
    const bad = { ...usage(), tool: null } as unknown as UsageRecord;
    await expect(store.recordUsage([...batch, bad])).rejects.toThrow();
    expect(await countRows(store, 'usage_records')).toBe(0);
    await store.recordUsage(batch);
    expect(await countRows(store, 'usage_records')).toBe(1_200);
  });

  test('usageSummary groups by tool and outcome, filtered by since and key', async () => {
    await store.recordUsage([
      usage({ tool: 'list_records', at: '2030-01-01T00:00:00.000Z', durationMs: 10, keyId: 'key_a' }),
      usage({ tool: 'list_records', at: '2030-01-02T00:00:00.000Z', durationMs: 20, keyId: 'key_b' }),
      usage({
        tool: 'list_records',
        outcome: 'error',
        at: '2030-01-03T00:00:00.000Z',
        durationMs: 5,
        keyId: 'key_a',
      }),
      usage({
        tool: 'get_record',
        outcome: 'invalid_input',
        at: '2030-01-04T00:00:00.000Z',
        durationMs: 1.6,
      }),
    ]);
    expect(await store.usageSummary()).toEqual([
      { tool: 'get_record', outcome: 'invalid_input', count: 1, totalMs: 2 },
      { tool: 'list_records', outcome: 'error', count: 1, totalMs: 5 },
      { tool: 'list_records', outcome: 'ok', count: 2, totalMs: 30 },
    ]);
    expect(await store.usageSummary({ since: '2030-01-02T00:00:00.000Z', keyId: 'key_a' })).toEqual([
      { tool: 'list_records', outcome: 'error', count: 1, totalMs: 5 },
    ]);
    expect(await store.usageSummary({ keyId: 'key_b' })).toEqual([
      { tool: 'list_records', outcome: 'ok', count: 1, totalMs: 20 },
    ]);
    // A non-canonical but valid timestamp is normalised before comparing.
    expect(await store.usageSummary({ since: '2030-01-03T01:00:00+01:00' })).toHaveLength(2);
    expect(await store.usageSummary({ since: '2031-01-01T00:00:00.000Z' })).toEqual([]);
  });

  test('ping answers; close is idempotent', async () => {
    await store.ping();
    const { store: other } = await freshStore();
    await other.close();
    await other.close();
  });
});

// ---------------------------------------------------------------- SQLite specifics

describe('store: sqlite file specifics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amk-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the data directory (0700), uses WAL, and keeps data across reopening', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = await openStore({ dataDir });
    expect(first.location).toBe(join(dataDir, 'airtable-mcp-kit.sqlite'));
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(dbOf(first));
    expect(rows[0]?.journal_mode).toBe('wal');
    const { key } = await first.createApiKey({ name: 'kept' });
    await first.close();

    const second = await openStore({ dataDir });
    expect(await second.migrate()).toEqual([]);
    expect((await second.verifyApiKey(key))?.name).toBe('kept');
    await second.close();
  });

  it('defaultDataDir follows XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/srv/data' })).toBe('/srv/data/airtable-mcp-kit');
    expect(defaultDataDir({ XDG_DATA_HOME: 'relative' })).toMatch(/\.local\/share\/airtable-mcp-kit$/);
    expect(defaultDataDir({})).toMatch(/\.local\/share\/airtable-mcp-kit$/);
  });

  it('a SQLite file that cannot be created is one clear StoreUnavailableError', async () => {
    const error = await openStore({ sqliteFile: '/dev/null/nested/db.sqlite' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /^Cannot open SQLite database \/dev\/null\/nested\/db\.sqlite: /,
    );
  });

  it('rejects a DATABASE_URL that is not PostgreSQL', async () => {
    await expect(openStore({ databaseUrl: 'mysql://x@localhost/db' })).rejects.toThrow(/postgres:\/\//);
  });
});

// ---------------------------------------------------------------- PostgreSQL availability

/** A TCP proxy in front of PostgreSQL that the test can cut and restore, like a network failure. */
class TcpProxy {
  port = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  /** Looks at what the client sent so far on one connection; true cuts the network before forwarding. */
  cutWhen: ((sentSoFar: string) => boolean) | undefined;

  async start(port = 0): Promise<void> {
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.#server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** Every open connection dies and new ones are refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  restore(): Promise<void> {
    return this.start(this.port);
  }

  #accept(client: Socket): void {
    const upstream = tcpConnect(PG_PORT, PG_HOST);
    this.#sockets.add(client).add(upstream);
    let sent = '';
    client.on('data', (chunk: Buffer) => {
      sent += chunk.toString('latin1');
      if (this.cutWhen?.(sent)) {
        this.cutWhen = undefined;
        void this.cut();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        this.#sockets.delete(a);
      });
    }
  }
}

describe.skipIf(pgStatus === false)('store: postgres availability', () => {
  const proxy = new TcpProxy();
  let store: Store;

  beforeAll(async () => {
    if (pgStatus instanceof Error) throw pgStatus;
    await proxy.start();
    const { name } = await createDatabase();
    store = await openStore({ databaseUrl: databaseUrl(name, proxy.port), poolSize: 2 });
  });

  afterAll(async () => {
    await store?.close();
    await proxy.cut();
    await dropCreatedDatabases();
  });

  it('lost at run time: 503-style errors quickly, then recovers without reopening', async () => {
    await store.createApiKey({ name: 'before' });
    await proxy.cut();
    const started = performance.now();
    await expect(store.listApiKeys()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.recordUsage([usage(), usage()])).rejects.toBeInstanceOf(StoreUnavailableError);
    const error = await store.verifyApiKey(`pya_${'1'.repeat(64)}`).catch((e: Error) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /Database unavailable \(postgres:\/\/127\.0\.0\.1:\d+\/amk_test_\w+\) during verifyApiKey/,
    );
    expect(performance.now() - started).toBeLessThan(2_000);

    await proxy.restore();
    await store.ping();
    expect((await store.listApiKeys()).map((k) => k.name)).toEqual(['before']);
    await store.recordUsage([usage()]);
    expect(await countRows(store, 'usage_records')).toBe(1);
  });

  it('lost in the middle of a batch: nothing of it is written', async () => {
    await dbOf(store).deleteFrom('usage_records').execute();
    const batch = Array.from({ length: 1_200 }, () => usage());
    // Cut when the second INSERT of the transaction is about to go out: the first already ran.
    proxy.cutWhen = (sent) => sent.split('insert into "usage_records"').length - 1 >= 2;
    await expect(store.recordUsage(batch)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(proxy.cutWhen).toBeUndefined();
    await proxy.restore();
    expect(await countRows(store, 'usage_records')).toBe(0);
    await store.recordUsage(batch);
    expect(await countRows(store, 'usage_records')).toBe(1_200);
  });

  it('unreachable at open: one clear StoreUnavailableError, password not in it', async () => {
    const port = await freePort();
    const url = `postgres://amk:Sup3rSecretPw@127.0.0.1:${port}/amk`;
    const error = await openStore({ databaseUrl: url }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `Cannot connect to PostgreSQL at postgres://127.0.0.1:${port}/amk: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect((error as Error).message).not.toContain('Sup3rSecretPw');
  });

  it('a server that accepts but never answers fails open after the connect timeout', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const started = performance.now();
    try {
      const error = await openStore({ databaseUrl: `postgres://amk:pw@127.0.0.1:${port}/amk` }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(
        /^Cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/amk: .*timeout/i,
      );
    } finally {
      silent.close();
      (silent as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(4_500);
    expect(elapsed).toBeLessThan(8_000);
  });
});

// ---------------------------------------------------------------- PostgreSQL that stops answering

describe.skipIf(pgStatus === false)('store: postgres black-holed (connections open, no answers)', () => {
  const proxies: BlackholeProxy[] = [];
  const stores: Store[] = [];

  /** A migrated store through a fresh proxy, with `warm` pooled connections already open. */
  async function storeThroughProxy(options: Partial<OpenStoreOptions> = {}, warm = 2) {
    const proxy = await startTcpProxy(PG_PORT, PG_HOST);
    proxies.push(proxy);
    const { name } = await createDatabase();
    const store = await openStore({ databaseUrl: databaseUrl(name, proxy.port), poolSize: 3, ...options });
    stores.push(store);
    await Promise.all(Array.from({ length: warm }, () => sql`select pg_sleep(0.05)`.execute(dbOf(store))));
    return { proxy, store, name };
  }

  beforeAll(() => {
    if (pgStatus instanceof Error) throw pgStatus;
  });

  afterEach(async () => {
    // Bounded even when a test failed with the link still black-holed.
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  afterAll(dropCreatedDatabases);

  it('a query fails with StoreUnavailableError after the query timeout (default 5 s)', async () => {
    const { proxy, store } = await storeThroughProxy();
    proxy.blackhole();
    const started = performance.now();
    const error = await store.listApiKeys().catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/during listApiKeys: Query read timeout: no answer .* 5000 ms/);
    expect(elapsed).toBeGreaterThan(4_500);
    expect(elapsed).toBeLessThan(6_500);
  }, 20_000);

  it('queryTimeoutMs sets the limit; a timed-out connection is not reused once the link is back', async () => {
    const { proxy, store } = await storeThroughProxy({ queryTimeoutMs: 800 }, 0);
    const backends = () =>
      Promise.all(
        Array.from({ length: 3 }, async () => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(
            dbOf(store),
          );
          return rows[0]!.pid;
        }),
      );
    const before = await backends();
    expect(new Set(before).size).toBe(3);
    proxy.blackhole();
    const started = performance.now();
    // Transactions too: the rollback after the timeout does not wait a second time.
    const results = await Promise.allSettled([
      store.ping(),
      store.recordUsage([usage()]),
      store.listApiKeys(),
    ]);
    expect(performance.now() - started).toBeLessThan(1_500);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
    // All three connections were dropped, not returned to the pool: after a failover the stale ones
    // would never answer. (Here the link comes back, so reused ones would answer from the same backends.)
    proxy.restore();
    const after = await backends();
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect(await countRows(store, 'usage_records')).toBe(0);

    // Link lost inside a transaction: the rollback after the timeout fails at once instead of
    // queueing behind the lost answer for another queryTimeoutMs.
    let inTransaction = 0;
    let lostAt = 0;
    const failed = await dbOf(store)
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        inTransaction = rows[0]!.pid;
        proxy.blackhole();
        lostAt = performance.now();
        await sql`select 1`.execute(trx);
      })
      .catch((e: unknown) => e);
    expect(performance.now() - lostAt).toBeLessThan(1_300);
    expect((failed as Error).message).toMatch(/Query read timeout/);
    proxy.restore();
    expect(await backends()).not.toContain(inTransaction);
  }, 20_000);

  it('close() finishes within about 2 s with a query in flight and idle connections', async () => {
    const { proxy, store } = await storeThroughProxy({}, 3);
    proxy.blackhole();
    const inFlight = store.ping().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await store.close();
    expect(performance.now() - started).toBeLessThan(3_000);
    const started2 = performance.now();
    expect(await inFlight).toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started2).toBeLessThan(500);
  }, 20_000);

  it('migrations may wait longer than queryTimeoutMs (another replica holding the migration lock)', async () => {
    const { name } = await createDatabase();
    const store = await openStore({ databaseUrl: databaseUrl(name), queryTimeoutMs: 300, migrate: false });
    stores.push(store);
    const holder = new pg.Client({ connectionString: databaseUrl(name) });
    await holder.connect();
    try {
      // Kysely's PostgreSQL migration lock id (kysely/dist/esm/dialect/postgres/postgres-adapter.js).
      await holder.query('select pg_advisory_lock(3853314791062309107)');
      const migrating = store.migrate();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await holder.query('select pg_advisory_unlock(3853314791062309107)');
      expect(await migrating).toEqual(MIGRATION_NAMES);
    } finally {
      await holder.end();
    }
    // Outside migrations the short limit applies.
    await expect(sql`select pg_sleep(1)`.execute(dbOf(store))).rejects.toThrow(/Query read timeout/);
  }, 20_000);
});

// ---------------------------------------------------------------- CLI

describe('store cli', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore({ sqliteFile: ':memory:', migrate: false });
  });
  afterEach(() => store.close());

  it('migrate applies and reports; --status lists every migration', async () => {
    const pending = capture();
    expect(await runMigrate(store, pending.stream, { status: true })).toBe(0);
    expect(pending.text()).toMatch(
      /^MIGRATION\s+APPLIED\n001_initial\s+pending\n002_usage_details\s+pending\n$/,
    );

    const first = capture();
    expect(await runMigrate(store, first.stream, {})).toBe(0);
    expect(first.text()).toBe('Applied 001_initial\nApplied 002_usage_details\n:memory: is up to date.\n');

    const again = capture();
    expect(await runMigrate(store, again.stream)).toBe(0);
    expect(again.text()).toBe(':memory: is already up to date.\n');

    const status = capture();
    await runMigrate(store, status.stream, { status: true });
    expect(status.text()).toMatch(/^001_initial\s+\d{4}-\d\d-\d\dT[\d:.]+Z$/m);
    expect(status.text()).toMatch(/^002_usage_details\s+\d{4}-\d\d-\d\dT[\d:.]+Z$/m);
  });

  it('keys create prints the key once, list shows a table, revoke revokes', async () => {
    await store.migrate();
    const created = capture();
    expect(await runKeys(store, created.stream, ['create', '--name', 'ci'])).toBe(0);
    const key = created.text().match(/pya_[0-9a-f]{64}/)?.[0];
    expect(key).toBeDefined();
    expect(created.text().match(/pya_[0-9a-f]{64}/g)).toHaveLength(1);
    expect(created.text()).toContain('will not be shown again');
    expect(created.text()).toContain(keyId(key!));

    const listed = capture();
    expect(await runKeys(store, listed.stream, ['list'])).toBe(0);
    const lines = listed.text().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED$/);
    expect(lines[1]).toMatch(new RegExp(`^${keyId(key!)}\\s+ci\\s+${key!.slice(0, 10)}\\s+\\S+Z\\s+-\\s+-$`));
    expect(listed.text()).not.toContain(key!);

    const revoked = capture();
    expect(await runKeys(store, revoked.stream, ['revoke', key!.slice(0, 10)])).toBe(0);
    expect(revoked.text()).toMatch(new RegExp(`^Revoked ${keyId(key!)} \\(ci\\) at \\S+Z\\.\\n$`));
    expect(await store.verifyApiKey(key!)).toBeUndefined();

    const named = capture();
    expect(await runKeys(store, named.stream, ['create', '--name=second'])).toBe(0);
    expect((await store.listApiKeys()).map((k) => k.name)).toEqual(['ci', 'second']);
  });

  it('keys: empty list, not found (1), ambiguous (1), usage errors (2)', async () => {
    await store.migrate();
    const empty = capture();
    expect(await runKeys(store, empty.stream, ['list'])).toBe(0);
    expect(empty.text()).toMatch(/^No API keys/);

    const out = capture();
    const err = capture();
    expect(await runKeys(store, out.stream, ['revoke', 'key_000000000000'], err.stream)).toBe(1);
    expect(err.text()).toMatch(/^No API key matches "key_000000000000"/);

    const { record } = await store.createApiKey({ name: 'real' });
    await dbOf(store)
      .insertInto('api_keys')
      .values({
        id: 'key_twin',
        name: 'twin',
        prefix: record.prefix,
        hash: '0'.repeat(64),
        created_at: record.createdAt,
      })
      .execute();
    expect(await runKeys(store, out.stream, ['revoke', record.prefix], err.stream)).toBe(1);
    expect(err.text()).toMatch(/ambiguous key prefix/);

    for (const args of [
      [],
      ['nope'],
      ['create'],
      ['create', '--name'],
      ['create', '--name', ' '],
      ['revoke'],
      ['list', 'x'],
    ]) {
      const usageErr = capture();
      expect(await runKeys(store, out.stream, args, usageErr.stream)).toBe(2);
      expect(usageErr.text()).toContain('Usage:');
    }
    expect(out.text()).toBe('');
  });
});
