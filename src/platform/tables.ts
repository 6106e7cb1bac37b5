/**
 * The platform's tables as Kysely sees them. Timestamps are ISO-8601 text
 * (UTC, milliseconds), like the core's: both dialects store and compare them
 * alike, and text order is time order. Lists (scopes, bases) are JSON text.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  /** Trimmed and lower-cased; unique. */
  email: string;
  /** Argon2id PHC string. */
  password_hash: string;
  first_name: string | null;
  last_name: string | null;
  role: 'admin' | 'member';
  /** '*' or a JSON array of base ids. */
  allowed_bases: string;
  disabled_at: string | null;
  /** Bumped to end every access token at once (logout-all, password change, disable, erasure). */
  token_version: number;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  /** Lowercase hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  parent_id: string | null;
  created_at: string;
  expires_at: string;
  /** The family's absolute end (a sign-in lasts at most this long, however often it is refreshed). */
  family_expires_at: string;
  /** When it was exchanged for its successor. */
  used_at: string | null;
  revoked_at: string | null;
}

export interface PersonalKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** The first characters (`pyu_` + 8), shown in listings. */
  prefix: string;
  hash: string;
  /** JSON array of scopes. */
  scopes: string;
  /** '*' (the owner's bases) or a JSON array narrowing them. */
  bases: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Counters for sign-in throttling and rate limits when Redis is not configured. */
export interface CountersTable {
  key: string;
  count: number;
  window_started_at: string;
  last_at: string;
}

/** Append-only consent ledger: the current state of a purpose is its latest row. */
export interface ConsentsTable {
  id: Generated<number>;
  user_id: string;
  purpose: string;
  granted: number;
  policy_version: string;
  at: string;
  source: string;
}

export interface GdprRequestsTable {
  id: string;
  /** Cleared once an erasure completes; the pseudonym stays. */
  user_id: string | null;
  subject: string;
  kind: 'export' | 'erasure';
  status: 'pending' | 'completed' | 'failed';
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

/** Append-only, pseudonymous: subjects and actors are keyed hashes, never ids or emails. */
export interface AuditTable {
  id: Generated<number>;
  at: string;
  action: string;
  subject: string | null;
  actor: string | null;
  /** Small JSON without personal data. */
  detail: string | null;
}

export interface SettingsTable {
  name: string;
  value: string;
}

/** One row per periodic job: the replica holding the lease runs it. */
export interface LeasesTable {
  name: string;
  holder: string;
  until: string;
}

/** The core table the analytics read (columns per the module seam). */
export interface UsageRecordsTable {
  id: Generated<number>;
  at: string;
  kind: string | null;
  name: string | null;
  tool: string;
  outcome: string;
  duration_ms: number;
  key_id: string | null;
  session_id: string | null;
  principal_kind: string | null;
  principal_id: string | null;
  user_id: string | null;
  source: string | null;
  airtable_requests: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  model: string | null;
  detail: string | null;
}

export interface PlatformTables {
  platform_users: UsersTable;
  platform_refresh_tokens: RefreshTokensTable;
  platform_personal_keys: PersonalKeysTable;
  platform_counters: CountersTable;
  platform_consents: ConsentsTable;
  platform_gdpr_requests: GdprRequestsTable;
  platform_audit: AuditTable;
  platform_settings: SettingsTable;
  platform_leases: LeasesTable;
  usage_records: UsageRecordsTable;
}

/** Every table the platform's migrations create (tests check them). */
export const PLATFORM_TABLES = [
  'platform_users',
  'platform_refresh_tokens',
  'platform_personal_keys',
  'platform_counters',
  'platform_consents',
  'platform_gdpr_requests',
  'platform_audit',
  'platform_settings',
  'platform_leases',
] as const;
