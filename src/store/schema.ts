import type { Generated } from 'kysely';

/**
 * Row shapes as Kysely sees them. Timestamps are ISO-8601 text
 * (`Date#toISOString()`, always UTC with milliseconds) in both dialects: the
 * two databases then store, compare and return exactly the same values, and
 * because the format is fixed-width, text order is time order.
 */
export interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  /** Lowercase hex SHA-256 of the key; the plaintext is never stored. */
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface McpSessionsTable {
  id: string;
  /** No foreign key: keys configured through API_KEY(S) are not rows in api_keys. */
  key_id: string | null;
  transport: string;
  created_at: string;
  last_seen_at: string;
  closed_at: string | null;
}

export interface UsageRecordsTable {
  id: Generated<number>;
  at: string;
  tool: string;
  outcome: string;
  duration_ms: number;
  key_id: string | null;
  session_id: string | null;
  /** From migration 002: who, what kind, and what it cost. */
  kind: string;
  name: string | null;
  principal_kind: string | null;
  principal_id: string | null;
  user_id: string | null;
  source: string | null;
  airtable_requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  model: string | null;
  /** Small JSON text (client events). */
  detail: string | null;
}

export interface Database {
  api_keys: ApiKeysTable;
  mcp_sessions: McpSessionsTable;
  usage_records: UsageRecordsTable;
}

/** Every table the latest migration leaves behind (tests check a fresh database has them all). */
export const STORE_TABLES = [
  'api_keys',
  'mcp_sessions',
  'usage_records',
] as const satisfies readonly (keyof Database)[];

export const MIGRATION_TABLE = 'amk_migration';
export const MIGRATION_LOCK_TABLE = 'amk_migration_lock';
