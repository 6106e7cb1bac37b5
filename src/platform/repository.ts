/**
 * The platform's queries, one place per table. Everything else goes through
 * here, so SQLite and PostgreSQL see exactly the same statements (the
 * storage tests run this class on both).
 */
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type {
  AuditTable,
  ConsentsTable,
  GdprRequestsTable,
  PersonalKeysTable,
  PlatformTables,
  RefreshTokensTable,
  UsersTable,
} from './tables.js';

export type UserRow = Selectable<UsersTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type PersonalKeyRow = Selectable<PersonalKeysTable>;
export type ConsentRow = Selectable<ConsentsTable>;
export type GdprRequestRow = Selectable<GdprRequestsTable>;
export type AuditRow = Selectable<AuditTable>;

export class EmailTakenError extends Error {
  override name = 'EmailTakenError';
}

export class PlatformRepository {
  constructor(readonly db: Kysely<PlatformTables>) {}

  /* ---------------------------------------------------------------- users */

  async insertUser(row: Insertable<UsersTable>): Promise<UserRow> {
    if (await this.userByEmail(row.email)) throw new EmailTakenError('email already registered');
    try {
      await this.db.insertInto('platform_users').values(row).execute();
    } catch (error) {
      // Two registrations racing for one email: the unique index decides.
      if (await this.userByEmail(row.email)) throw new EmailTakenError('email already registered');
      throw error;
    }
    return (await this.userById(row.id))!;
  }

  userById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('platform_users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  userByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('platform_users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  listUsers(): Promise<UserRow[]> {
    return this.db.selectFrom('platform_users').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('platform_users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countActiveAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('platform_users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async updateUser(id: string, patch: Updateable<UsersTable>): Promise<UserRow | undefined> {
    await this.db.updateTable('platform_users').set(patch).where('id', '=', id).execute();
    return this.userById(id);
  }

  /** Ends every access token of the user (they carry the version they were issued with). */
  async bumpTokenVersion(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('platform_users')
      .set((eb) => ({ token_version: eb('token_version', '+', 1), updated_at: at }))
      .where('id', '=', id)
      .execute();
  }

  async deleteUser(id: string): Promise<void> {
    await this.db.deleteFrom('platform_users').where('id', '=', id).execute();
  }

  /**
   * Every platform row holding the user's id, in one transaction: credentials
   * first, the account last, so no step leaves a working credential behind.
   * GDPR request rows keep the id until their erasure completes.
   */
  async eraseUserData(userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('platform_refresh_tokens').where('user_id', '=', userId).execute();
      await trx.deleteFrom('platform_personal_keys').where('user_id', '=', userId).execute();
      await trx.deleteFrom('platform_consents').where('user_id', '=', userId).execute();
      await trx.deleteFrom('platform_users').where('id', '=', userId).execute();
    });
  }

  /* ---------------------------------------------------------------- refresh tokens */

  async insertRefreshToken(row: Insertable<RefreshTokensTable>): Promise<void> {
    await this.db.insertInto('platform_refresh_tokens').values(row).execute();
  }

  refreshTokenByHash(hash: string): Promise<RefreshTokenRow | undefined> {
    return this.db
      .selectFrom('platform_refresh_tokens')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
  }

  /** Marks the token used; false when another request used (or revoked) it first. */
  async claimRefreshToken(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('platform_refresh_tokens')
      .set({ used_at: at })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The unused successors of a token (a grace-window retry replaces them). */
  async revokeChildren(parentId: string, at: string): Promise<number> {
    const result = await this.db
      .updateTable('platform_refresh_tokens')
      .set({ revoked_at: at })
      .where('parent_id', '=', parentId)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async childUsed(parentId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('platform_refresh_tokens')
      .select('id')
      .where('parent_id', '=', parentId)
      .where('used_at', 'is not', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  async revokeFamily(familyId: string, at: string): Promise<void> {
    await this.db
      .updateTable('platform_refresh_tokens')
      .set({ revoked_at: at })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeUserRefreshTokens(userId: string, at: string): Promise<void> {
    await this.db
      .updateTable('platform_refresh_tokens')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  refreshTokensOf(userId: string): Promise<RefreshTokenRow[]> {
    return this.db
      .selectFrom('platform_refresh_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
  }

  async deleteExpiredRefreshTokens(before: string): Promise<void> {
    await this.db.deleteFrom('platform_refresh_tokens').where('family_expires_at', '<', before).execute();
  }

  /* ---------------------------------------------------------------- personal keys */

  async insertKey(row: Insertable<PersonalKeysTable>): Promise<PersonalKeyRow> {
    await this.db.insertInto('platform_personal_keys').values(row).execute();
    return (await this.keyById(row.id))!;
  }

  keyById(id: string): Promise<PersonalKeyRow | undefined> {
    return this.db.selectFrom('platform_personal_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  keyByHash(hash: string): Promise<PersonalKeyRow | undefined> {
    return this.db
      .selectFrom('platform_personal_keys')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst();
  }

  keysOf(userId: string): Promise<PersonalKeyRow[]> {
    return this.db
      .selectFrom('platform_personal_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async revokeKey(id: string, userId: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('platform_personal_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async revokeUserKeys(userId: string, at: string): Promise<void> {
    await this.db
      .updateTable('platform_personal_keys')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async touchKey(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('platform_personal_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .execute();
  }

  /* ---------------------------------------------------------------- consents */

  async addConsent(row: Insertable<ConsentsTable>): Promise<void> {
    await this.db.insertInto('platform_consents').values(row).execute();
  }

  consentsOf(userId: string): Promise<ConsentRow[]> {
    return this.db
      .selectFrom('platform_consents')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  }

  /* ---------------------------------------------------------------- GDPR requests and audit */

  async insertGdprRequest(row: Insertable<GdprRequestsTable>): Promise<void> {
    await this.db.insertInto('platform_gdpr_requests').values(row).execute();
  }

  async updateGdprRequest(id: string, patch: Updateable<GdprRequestsTable>): Promise<void> {
    await this.db.updateTable('platform_gdpr_requests').set(patch).where('id', '=', id).execute();
  }

  /** After an erasure: the requests stay (pseudonymous, for the status and the audit) without the user's id. */
  async detachGdprRequests(userId: string): Promise<void> {
    await this.db
      .updateTable('platform_gdpr_requests')
      .set({ user_id: null })
      .where('user_id', '=', userId)
      .execute();
  }

  gdprRequestsOf(subject: string): Promise<GdprRequestRow[]> {
    return this.db
      .selectFrom('platform_gdpr_requests')
      .selectAll()
      .where('subject', '=', subject)
      .orderBy('created_at')
      .execute();
  }

  unfinishedErasures(): Promise<GdprRequestRow[]> {
    return this.db
      .selectFrom('platform_gdpr_requests')
      .selectAll()
      .where('kind', '=', 'erasure')
      .where('status', '!=', 'completed')
      .orderBy('created_at')
      .execute();
  }

  async appendAudit(row: Insertable<AuditTable>): Promise<void> {
    await this.db.insertInto('platform_audit').values(row).execute();
  }

  auditOf(subject: string | undefined, limit: number): Promise<AuditRow[]> {
    let query = this.db.selectFrom('platform_audit').selectAll();
    if (subject) query = query.where('subject', '=', subject);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  /* ---------------------------------------------------------------- settings and leases */

  /** The stored value, or `make()` stored first (the first replica to start wins; the rest read its value). */
  async setting(name: string, make: () => string): Promise<string> {
    const existing = await this.db
      .selectFrom('platform_settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst();
    if (existing) return existing.value;
    await this.db
      .insertInto('platform_settings')
      .values({ name, value: make() })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('platform_settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.value;
  }

  /** Takes the named lease when it is free or expired; true when this holder has it now. */
  async acquireLease(name: string, holder: string, until: string, now: string): Promise<boolean> {
    await this.db
      .insertInto('platform_leases')
      .values({ name, holder: '', until: now })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    const result = await this.db
      .updateTable('platform_leases')
      .set({ holder, until })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('until', '<=', now), eb('holder', '=', holder)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
