/**
 * The storage layer's contract. State that must survive a restart goes
 * through a Store: SQLite (default, one process) or PostgreSQL (several
 * replicas). Both implement this interface and pass the same test suite.
 */

export type StoreDialect = 'sqlite' | 'postgres';

export interface ApiKeyRecord {
  /** `key_` + first 12 hex of sha256(key): the same id the HTTP auth puts in logs and metrics. */
  id: string;
  name: string;
  /** First characters of the key (`pya_` + 6), shown in listings so a person can tell keys apart. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SessionRecord {
  id: string;
  keyId: string | null;
  transport: 'streamable' | 'sse';
  createdAt: string;
  lastSeenAt: string;
  closedAt: string | null;
}

export interface UsageRecord {
  at: string;
  /** The tool's name (for other kinds: the model, '<workflow>/<step>' or the event name). */
  tool: string;
  outcome: 'ok' | 'error' | 'invalid_input' | 'denied';
  durationMs: number;
  keyId: string | null;
  sessionId: string | null;
  kind?: 'tool' | 'chat' | 'workflow_step' | 'event';
  principalKind?: string | null;
  principalId?: string | null;
  userId?: string | null;
  source?: string | null;
  airtableRequests?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  model?: string | null;
  detail?: Record<string, unknown>;
}

export interface UsageSummaryRow {
  tool: string;
  outcome: string;
  count: number;
  totalMs: number;
}

export interface MigrationStatus {
  name: string;
  appliedAt: string | null;
}

export interface Store {
  readonly dialect: StoreDialect;
  /** Where the data lives, without credentials (a file path, or host/database). */
  readonly location: string;

  /** Apply pending migrations under a lock (replicas starting together do not race). Returns the names applied now. */
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<MigrationStatus[]>;

  /** Create a key; the plaintext is returned once and only its hash is stored. */
  createApiKey(input: { name: string }): Promise<{ key: string; record: ApiKeyRecord }>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Revoke by id or prefix; undefined when nothing matched. Ambiguous prefixes are an error. */
  revokeApiKey(idOrPrefix: string): Promise<ApiKeyRecord | undefined>;
  /** The active (not revoked) key with this plaintext, or undefined. Updates lastUsedAt (at most once a minute). */
  verifyApiKey(key: string): Promise<ApiKeyRecord | undefined>;

  saveSession(session: SessionRecord): Promise<void>;
  touchSession(id: string, at: string): Promise<void>;
  closeSession(id: string, at: string): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;

  /** Insert usage records in one transaction: all or none. */
  recordUsage(records: readonly UsageRecord[]): Promise<void>;
  usageSummary(filter?: { since?: string; keyId?: string }): Promise<UsageSummaryRow[]>;

  /** Throws when the database cannot be reached (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A store operation failed because the database is unreachable: HTTP answers 503. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
