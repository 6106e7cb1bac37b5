import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, keyId } from './api-keys.js';
import { toStoreError } from './errors.js';
import { buildMigrations } from './migrations/index.js';
import {
  type ApiKeysTable,
  type Database,
  type McpSessionsTable,
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
} from './schema.js';
import type {
  ApiKeyRecord,
  MigrationStatus,
  SessionRecord,
  Store,
  StoreDialect,
  UsageRecord,
  UsageSummaryRow,
} from './types.js';

/** `pya_` + 6 hex: enough to tell keys apart in a listing, far too little to guess the rest. */
export const KEY_PREFIX_LENGTH = 10;
const KEY_PREFIX_PATTERN = /^pya_[0-9a-f]{6,}$/;
const MAX_KEY_NAME_LENGTH = 200;
/** last_used_at is refreshed at most this often, so verifying a key is not a write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** Rows per INSERT: stays well below SQLite's and PostgreSQL's bound-parameter limits. */
const USAGE_CHUNK_ROWS = 500;

/** revokeApiKey was given a prefix that several keys share; the message starts with "ambiguous". */
export class AmbiguousKeyError extends Error {
  override name = 'AmbiguousKeyError';
}

export interface SqlStoreOptions {
  /** Runs a migration with a longer per-query budget than requests get (PostgreSQL's query timeout). */
  withMigrationTimeout?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Modules' migrations, already named '<module>/NNN_name'; run by the same locked migrator as the core's. */
  moduleMigrations?: Record<string, Migration>;
}

/**
 * The Store over Kysely, for both dialects: the SQL is built once and Kysely
 * renders it for SQLite or PostgreSQL. Every public method maps "database
 * unreachable" errors to StoreUnavailableError.
 */
export class SqlStore implements Store {
  readonly #migrator: Migrator;
  #closed = false;

  constructor(
    /** Exposed for tests and admin tooling; application code goes through the Store methods. */
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
    readonly location: string,
    private readonly options: SqlStoreOptions = {},
  ) {
    const migrations = { ...buildMigrations(dialect), ...options.moduleMigrations };
    this.#migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations },
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
      // A module enabled later, or a new core migration, may sort before ones already applied.
      allowUnorderedMigrations: true,
    });
  }

  migrate(): Promise<string[]> {
    const withTimeout = this.options.withMigrationTimeout ?? ((work) => work());
    return this.#run('migrate', async () => {
      const { error, results = [] } = await withTimeout(() => this.#migrator.migrateToLatest());
      if (error)
        throw migrationError(error, results.find((result) => result.status === 'Error')?.migrationName);
      return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
    });
  }

  migrationStatus(): Promise<MigrationStatus[]> {
    return this.#run('migrationStatus', async () => {
      const migrations = await this.#migrator.getMigrations();
      return migrations.map((m) => ({ name: m.name, appliedAt: m.executedAt?.toISOString() ?? null }));
    });
  }

  createApiKey(input: { name: string }): Promise<{ key: string; record: ApiKeyRecord }> {
    return this.#run('createApiKey', async () => {
      const key = generateApiKey();
      const row: ApiKeysTable = {
        id: keyId(key),
        name: checkKeyName(input.name),
        prefix: key.slice(0, KEY_PREFIX_LENGTH),
        hash: hashApiKey(key).toString('hex'),
        created_at: new Date().toISOString(),
        last_used_at: null,
        revoked_at: null,
      };
      await this.db.insertInto('api_keys').values(row).execute();
      return { key, record: toKeyRecord(row) };
    });
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#run('listApiKeys', async () => {
      const rows = await this.db
        .selectFrom('api_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toKeyRecord);
    });
  }

  revokeApiKey(idOrPrefix: string): Promise<ApiKeyRecord | undefined> {
    return this.#run('revokeApiKey', async () => {
      const target = idOrPrefix.trim();
      const matches = await this.#findKeys(target);
      if (matches.length > 1) {
        const ids = matches.map((row) => row.id).join(', ');
        throw new AmbiguousKeyError(
          `ambiguous key prefix "${target}": it matches ${matches.length} keys (${ids}); use the id`,
        );
      }
      const match = matches[0];
      if (!match) return undefined;
      // `revoked_at is null`: revoking twice keeps the first revocation time.
      await this.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', match.id)
        .where('revoked_at', 'is', null)
        .execute();
      const row = await this.db
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', match.id)
        .executeTakeFirst();
      return row && toKeyRecord(row);
    });
  }

  verifyApiKey(key: string): Promise<ApiKeyRecord | undefined> {
    // Malformed input cannot match a stored key: answer without a query.
    if (!API_KEY_PATTERN.test(key)) return Promise.resolve(undefined);
    return this.#run('verifyApiKey', async () => {
      const hash = hashApiKey(key).toString('hex');
      const row = await this.db
        .selectFrom('api_keys')
        .selectAll()
        .where('hash', '=', hash)
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return undefined;
      const now = new Date();
      const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS).toISOString();
      if (row.last_used_at === null || row.last_used_at < staleBefore) {
        row.last_used_at = now.toISOString();
        // The same condition in SQL: of replicas verifying at once, only the first writes.
        await this.db
          .updateTable('api_keys')
          .set({ last_used_at: row.last_used_at })
          .where('id', '=', row.id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
          .execute();
      }
      return toKeyRecord(row);
    });
  }

  saveSession(session: SessionRecord): Promise<void> {
    return this.#run('saveSession', async () => {
      const row = toSessionRow(session);
      const { id: _id, created_at: _createdAt, ...changes } = row;
      // Saving again updates the session but keeps when it was first created.
      await this.db
        .insertInto('mcp_sessions')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(changes))
        .execute();
    });
  }

  touchSession(id: string, at: string): Promise<void> {
    return this.#run('touchSession', async () => {
      const seen = toIso(at);
      // Only forward in time: replicas may report out of order.
      await this.db
        .updateTable('mcp_sessions')
        .set({ last_seen_at: seen })
        .where('id', '=', id)
        .where('last_seen_at', '<', seen)
        .execute();
    });
  }

  closeSession(id: string, at: string): Promise<void> {
    return this.#run('closeSession', async () => {
      await this.db
        .updateTable('mcp_sessions')
        .set({ closed_at: toIso(at) })
        .where('id', '=', id)
        .where('closed_at', 'is', null)
        .execute();
    });
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.#run('getSession', async () => {
      const row = await this.db
        .selectFrom('mcp_sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toSessionRecord(row);
    });
  }

  recordUsage(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.#run('recordUsage', async () => {
      const rows = records.map(toUsageRow);
      // Several INSERTs for a big batch, one transaction: all rows or none.
      await this.db.transaction().execute(async (trx) => {
        for (let start = 0; start < rows.length; start += USAGE_CHUNK_ROWS) {
          await trx
            .insertInto('usage_records')
            .values(rows.slice(start, start + USAGE_CHUNK_ROWS))
            .execute();
        }
      });
    });
  }

  usageSummary(filter: { since?: string; keyId?: string } = {}): Promise<UsageSummaryRow[]> {
    return this.#run('usageSummary', async () => {
      const { since, keyId: key } = filter;
      const rows = await this.db
        .selectFrom('usage_records')
        .select(['tool', 'outcome'])
        .select((eb) => [
          eb.fn.countAll<number | string>().as('count'),
          eb.fn.sum<number | string>('duration_ms').as('total_ms'),
        ])
        .$if(since !== undefined, (qb) => qb.where('at', '>=', toIso(since!)))
        .$if(key !== undefined, (qb) => qb.where('key_id', '=', key!))
        .groupBy(['tool', 'outcome'])
        .execute();
      // PostgreSQL returns bigint/numeric aggregates as strings. Sorted here, not in SQL,
      // because PostgreSQL's locale collation and SQLite's byte order disagree on `_`.
      return rows
        .map((row) => ({
          tool: row.tool,
          outcome: row.outcome,
          count: Number(row.count),
          totalMs: Number(row.total_ms),
        }))
        .sort((a, b) => compare(a.tool, b.tool) || compare(a.outcome, b.outcome));
    });
  }

  ping(): Promise<void> {
    return this.#run('ping', async () => {
      await sql`select 1`.execute(this.db);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.db.destroy();
  }

  /** Rows an id, prefix or whole key designates (a whole key: "revoke this leaked key"). */
  #findKeys(target: string): Promise<ApiKeysTable[]> {
    const query = this.db.selectFrom('api_keys').selectAll();
    if (API_KEY_PATTERN.test(target)) {
      return query.where('hash', '=', hashApiKey(target).toString('hex')).execute();
    }
    if (KEY_PREFIX_PATTERN.test(target)) return query.where('prefix', '=', target).execute();
    return query.where('id', '=', target).execute();
  }

  async #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toStoreError(error, operation, this.location);
    }
  }
}

function migrationError(error: unknown, name: string | undefined): unknown {
  // Connection failures pass through so #run turns them into StoreUnavailableError.
  if (!(error instanceof Error) || !name) return error;
  return new Error(`Migration ${name} failed, so none of this run was applied: ${error.message}`, {
    cause: error,
  });
}

function checkKeyName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!trimmed || trimmed.length > MAX_KEY_NAME_LENGTH) {
    throw new RangeError(`An API key needs a name of 1 to ${MAX_KEY_NAME_LENGTH} characters`);
  }
  return trimmed;
}

/** Normalises to `toISOString()` form, so stored text compares in time order. */
function toIso(value: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new RangeError(`Not a valid timestamp: "${value}"`);
  return time.toISOString();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toKeyRecord(row: ApiKeysTable): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

function toSessionRow(session: SessionRecord): McpSessionsTable {
  return {
    id: session.id,
    key_id: session.keyId,
    transport: session.transport,
    created_at: toIso(session.createdAt),
    last_seen_at: toIso(session.lastSeenAt),
    closed_at: session.closedAt === null ? null : toIso(session.closedAt),
  };
}

function toSessionRecord(row: McpSessionsTable): SessionRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    transport: row.transport as SessionRecord['transport'],
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    closedAt: row.closed_at,
  };
}

function toUsageRow(record: UsageRecord) {
  // No checks on tool/outcome here: NOT NULL constraints reject bad rows, inside the transaction.
  return {
    at: toIso(record.at),
    tool: record.tool,
    outcome: record.outcome,
    duration_ms: Math.round(record.durationMs),
    key_id: record.keyId ?? null,
    session_id: record.sessionId ?? null,
    kind: record.kind ?? 'tool',
    name: record.tool,
    principal_kind: record.principalKind ?? null,
    principal_id: record.principalId ?? record.keyId ?? null,
    user_id: record.userId ?? null,
    source: record.source ?? null,
    airtable_requests: record.airtableRequests ?? 0,
    input_tokens: record.inputTokens ?? 0,
    output_tokens: record.outputTokens ?? 0,
    cost_usd: record.costUsd ?? 0,
    model: record.model ?? null,
    detail: record.detail === undefined ? null : JSON.stringify(record.detail),
  };
}
