/**
 * The platform's storage and account rules, one suite run on SQLite and on
 * the real PostgreSQL: the same PlatformRepository statements and the same
 * Accounts logic (registration, sign-in, refresh rotation with its grace
 * window and family revocation, logout-all, password change, the last-admin
 * rule, personal keys narrowing their owner), plus the store-backed
 * counters and the sign-in throttle. A fake clock drives time; it starts
 * two minutes in the past so the access tokens it issues still verify
 * against jose's real clock after the clock is moved on.
 */
import { type Algorithm, hash } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProblem } from '../src/app/api.js';
import { AuthFailure, type AuthStrategy } from '../src/app/auth.js';
import type { Principal } from '../src/app/principal.js';
import { silentLogger } from '../src/logger.js';
import { Accounts, REFRESH_GRACE_MS } from '../src/platform/accounts.js';
import { AuditTrail } from '../src/platform/audit.js';
import { StoreCounters } from '../src/platform/counters.js';
import { platformMigrations } from '../src/platform/migrations.js';
import { EmailTakenError, PlatformRepository } from '../src/platform/repository.js';
import type { PlatformTables } from '../src/platform/tables.js';
import { LoginThrottle } from '../src/platform/throttle.js';
import { AccessTokens, sha256Hex } from '../src/platform/tokens.js';
import { openStore, type SqlStore, type StoreDialect } from '../src/store/index.js';
import { testDatabases } from './helpers/postgres.js';

const SECRET = 'a-test-signing-secret-of-32-chars!!';
const PASSWORD = 'correct horse battery staple';
const IP = '192.0.2.10';

const databases = testDatabases();
afterAll(() => databases.dropAll());

/** The platform's migrations named as the module runner names them. */
function prefixed(dialect: StoreDialect) {
  return Object.fromEntries(
    Object.entries(platformMigrations(dialect)).map(([n, m]) => [`platform/${n}`, m]),
  );
}

/** What an HttpProblem (or AuthFailure) a call threw says. */
async function problemOf(
  promise: Promise<unknown>,
): Promise<{ status: number; detail: string; fields: string[] }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpProblem) {
      return {
        status: error.status,
        detail: error.detail ?? '',
        fields: (error.extra.errors ?? []).map((e) => e.field),
      };
    }
    if (error instanceof AuthFailure) return { status: error.status, detail: error.message, fields: [] };
    throw error;
  }
  throw new Error('expected the call to fail');
}

function authenticate(strategy: AuthStrategy, credential: string): Promise<Principal | undefined> {
  return strategy.authenticate({ credential, headers: {}, ip: IP });
}

describe.each([
  ['sqlite', async () => ({ sqliteFile: ':memory:' })],
  ['postgres', async () => ({ databaseUrl: await databases.create('amk_platform') })],
] as const)('platform storage on %s', (dialect, where) => {
  let store: SqlStore;
  let db: Kysely<PlatformTables>;
  let repo: PlatformRepository;
  let accounts: Accounts;
  let counters: StoreCounters;
  const clock = { now: Date.now() - 120_000 };
  let audit: AuditTrail;
  /** The audit rows of a user (subjects are pseudonyms, never the id). */
  const auditedActions = async (userId: string) =>
    (await repo.auditOf(audit.pseudonym(userId), 100)).map((row) => row.action);
  const THRESHOLD = 3;
  const MAX_DELAY_MS = 4_000;

  beforeAll(async () => {
    store = (await openStore({ ...(await where()), moduleMigrations: prefixed })) as SqlStore;
    expect(store.dialect).toBe(dialect);
    db = store.db as unknown as Kysely<PlatformTables>;
    repo = new PlatformRepository(db);
    counters = new StoreCounters(db);
    audit = new AuditTrail(repo, 'a-test-audit-key', () => clock.now);
    accounts = new Accounts({
      repo,
      tokens: new AccessTokens(SECRET),
      throttle: new LoginThrottle(counters, {
        threshold: THRESHOLD,
        maxDelayMs: MAX_DELAY_MS,
        addressLimit: 1_000,
      }),
      logger: silentLogger(),
      refreshTokenDays: 7,
      defaultBases: '*',
      audit,
      now: () => clock.now,
    });
  });
  afterAll(() => store?.close());

  it('applies the platform migration and creates its tables', async () => {
    const status = await store.migrationStatus();
    expect(status.find((m) => m.name === 'platform/001_users')?.appliedAt).toBeTruthy();
    for (const table of [
      'platform_users',
      'platform_refresh_tokens',
      'platform_personal_keys',
      'platform_counters',
      'platform_consents',
      'platform_gdpr_requests',
      'platform_audit',
      'platform_settings',
      'platform_leases',
    ] as const) {
      const rows = await db.selectFrom(table).selectAll().execute();
      expect(rows, table).toEqual([]);
    }
  });

  it('registers a user: normalised email, Argon2id hash, default bases, a token pair', async () => {
    const res = await accounts.register({
      email: '  Ada@Example.COM ',
      password: PASSWORD,
      first_name: ' Ada ',
    });
    expect(res).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(res.user).toMatchObject({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: null,
      role: 'member',
      allowed_bases: '*',
      disabled: false,
    });
    expect(res.refresh_token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const row = await repo.userByEmail('ada@example.com');
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row?.password_hash).not.toContain(PASSWORD);
    // The refresh token is stored hashed, never as itself.
    const tokens = await repo.refreshTokensOf(row!.id);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.token_hash).toBe(sha256Hex(res.refresh_token));
    expect(JSON.stringify(tokens)).not.toContain(res.refresh_token);
    expect(await auditedActions(row!.id)).toContain('user_registered');
    const trail = JSON.stringify(await repo.auditOf(undefined, 100));
    expect(trail).not.toContain(row!.id);
    expect(trail).not.toContain('ada@example.com');

    const principal = await authenticate(accounts.strategy(), res.access_token);
    expect(principal).toMatchObject({
      kind: 'user',
      id: row!.id,
      userId: row!.id,
      role: 'member',
      bases: '*',
    });
    expect(principal?.scopes).not.toContain('admin');
  });

  it('refuses a taken email (409 naming email, also as the repository error) and a weak password (400)', async () => {
    const taken = await problemOf(
      accounts.register({ email: 'ADA@example.com', password: 'another long one 1' }),
    );
    expect(taken).toMatchObject({ status: 409, fields: ['email'] });
    await expect(
      repo.insertUser({
        id: 'usr_dupe',
        email: 'ada@example.com',
        password_hash: 'x',
        first_name: null,
        last_name: null,
        role: 'member',
        allowed_bases: '*',
        disabled_at: null,
        token_version: 0,
        created_at: new Date(clock.now).toISOString(),
        updated_at: new Date(clock.now).toISOString(),
        last_login_at: null,
      }),
    ).rejects.toBeInstanceOf(EmailTakenError);
    expect(await problemOf(accounts.register({ email: 'b@example.com', password: 'short' }))).toMatchObject({
      status: 400,
      fields: ['password'],
    });
    expect(
      await problemOf(accounts.register({ email: 'b@example.com', password: 'password123' })),
    ).toMatchObject({
      status: 400,
      fields: ['password'],
    });
    expect(await repo.userByEmail('b@example.com')).toBeUndefined();
  });

  it('signs in: the same 401 for a wrong password and an unknown email; last_login_at set', async () => {
    const ok = await accounts.login('ada@example.com', PASSWORD, IP);
    expect(ok.user.last_login_at).toBe(new Date(clock.now).toISOString());
    const wrong = await problemOf(accounts.login('ada@example.com', 'not the password', IP));
    const unknown = await problemOf(accounts.login('nobody@example.com', 'not the password', IP));
    expect(wrong).toEqual({ status: 401, detail: 'Invalid email or password', fields: [] });
    expect(unknown).toEqual(wrong);
    // A success clears the failure just counted.
    await accounts.login('ada@example.com', PASSWORD, IP);
  });

  it('rehashes a password stored with older Argon2 parameters at the next sign-in', async () => {
    const user = await accounts.createUser({ email: 'rehash@example.com', password: PASSWORD });
    const old = await hash(PASSWORD, {
      algorithm: 2 as Algorithm,
      memoryCost: 8_192,
      timeCost: 1,
      parallelism: 1,
    });
    await repo.updateUser(user.id, { password_hash: old });
    await accounts.login('rehash@example.com', PASSWORD, IP);
    const stored = (await repo.userById(user.id))!.password_hash;
    expect(stored).not.toBe(old);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    // Still the same password.
    await accounts.login('rehash@example.com', PASSWORD, IP);
    expect((await repo.userById(user.id))!.password_hash).toBe(stored);
  });

  it('throttles an account after the threshold with doubling delays, and a success clears it', async () => {
    await accounts.register({ email: 'locked@example.com', password: PASSWORD });
    for (let i = 0; i < THRESHOLD; i++) {
      expect((await problemOf(accounts.login('locked@example.com', 'wrong wrong', IP))).status).toBe(401);
    }
    // Right password or not: while the account waits, nothing is checked.
    const waiting = await problemOf(accounts.login('locked@example.com', PASSWORD, IP));
    expect(waiting.status).toBe(429);
    expect(waiting.detail).toMatch(/try again in 1 s/);
    clock.now += 1_001;
    expect((await problemOf(accounts.login('locked@example.com', 'wrong wrong', IP))).status).toBe(401);
    expect((await problemOf(accounts.login('locked@example.com', PASSWORD, IP))).detail).toMatch(/in 2 s/);
    clock.now += 2_001;
    await accounts.login('locked@example.com', PASSWORD, IP);
    // Cleared: the next wrong password is a plain 401 again, not a wait.
    expect((await problemOf(accounts.login('locked@example.com', 'wrong wrong', IP))).status).toBe(401);
    await accounts.login('locked@example.com', PASSWORD, IP);
  });

  it('counts on the store: quiet and fixed windows, peek and clear', async () => {
    const t0 = clock.now;
    expect(await counters.peek('test:quiet', 'quiet', 1_000, t0)).toBeUndefined();
    expect((await counters.hit('test:quiet', 'quiet', 1_000, t0)).count).toBe(1);
    expect((await counters.hit('test:quiet', 'quiet', 1_000, t0 + 900)).count).toBe(2);
    // Quiet: 900 ms after the last hit the window is still open…
    expect((await counters.hit('test:quiet', 'quiet', 1_000, t0 + 1_800)).count).toBe(3);
    // …and restarts after a full quiet second.
    expect(await counters.peek('test:quiet', 'quiet', 1_000, t0 + 2_900)).toBeUndefined();
    expect((await counters.hit('test:quiet', 'quiet', 1_000, t0 + 2_900)).count).toBe(1);

    expect((await counters.hit('test:fixed', 'fixed', 1_000, t0)).count).toBe(1);
    expect((await counters.hit('test:fixed', 'fixed', 1_000, t0 + 600)).count).toBe(2);
    // Fixed: it restarts one second after its first hit, however busy.
    const restarted = await counters.hit('test:fixed', 'fixed', 1_000, t0 + 1_200);
    expect(restarted).toEqual({ count: 1, windowStartedAt: t0 + 1_200, lastAt: t0 + 1_200 });
    await counters.clear('test:fixed');
    expect(await counters.peek('test:fixed', 'fixed', 1_000, t0 + 1_300)).toBeUndefined();

    // Concurrent hits are each counted once (one atomic upsert per hit).
    await Promise.all(Array.from({ length: 10 }, () => counters.hit('test:race', 'fixed', 60_000, t0)));
    expect((await counters.peek('test:race', 'fixed', 60_000, t0))?.count).toBe(10);
  });

  it('rotates refresh tokens: the old one is used, a grace-window retry replaces the unused successor', async () => {
    const first = await accounts.login('ada@example.com', PASSWORD, IP);
    const second = await accounts.refresh(first.refresh_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.user.email).toBe('ada@example.com');
    const oldRow = await repo.refreshTokenByHash(sha256Hex(first.refresh_token));
    const newRow = await repo.refreshTokenByHash(sha256Hex(second.refresh_token));
    expect(oldRow?.used_at).toBeTruthy();
    expect(newRow).toMatchObject({ family_id: oldRow!.family_id, parent_id: oldRow!.id, used_at: null });

    // The response was lost: the same token again within the grace window gets a new pair…
    clock.now += REFRESH_GRACE_MS - 2_000;
    const retried = await accounts.refresh(first.refresh_token);
    expect(retried.refresh_token).not.toBe(second.refresh_token);
    // …and the successor nobody received is dead.
    expect((await problemOf(accounts.refresh(second.refresh_token))).status).toBe(401);
    // The retried one works.
    const third = await accounts.refresh(retried.refresh_token);
    expect(third.refresh_token).toMatch(/^rt_/);
  });

  it('revokes the whole family when a rotated token comes back after the grace window', async () => {
    const signIn = await accounts.login('ada@example.com', PASSWORD, IP);
    const next = await accounts.refresh(signIn.refresh_token);
    clock.now += REFRESH_GRACE_MS + 1_000;
    const reuse = await problemOf(accounts.refresh(signIn.refresh_token));
    expect(reuse.status).toBe(401);
    expect(reuse.detail).toMatch(/already used/);
    // The newest token of that sign-in dies too (the thief's or the owner's: both).
    expect((await problemOf(accounts.refresh(next.refresh_token))).status).toBe(401);
    const family = (await repo.refreshTokenByHash(sha256Hex(next.refresh_token)))!.family_id;
    const rows = (await repo.refreshTokensOf(signIn.user.id)).filter((r) => r.family_id === family);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.revoked_at !== null)).toBe(true);
    expect(await auditedActions(signIn.user.id)).toContain('refresh_token_reused');
    // Another sign-in of the same user is untouched.
    const other = await accounts.login('ada@example.com', PASSWORD, IP);
    await accounts.refresh(other.refresh_token);
  });

  it('refuses a grace-window retry once the successor was used (that is reuse)', async () => {
    const signIn = await accounts.login('ada@example.com', PASSWORD, IP);
    const next = await accounts.refresh(signIn.refresh_token);
    await accounts.refresh(next.refresh_token);
    expect((await problemOf(accounts.refresh(signIn.refresh_token))).status).toBe(401);
  });

  it('logout ends one sign-in; logout-all ends every sign-in and every access token', async () => {
    const a = await accounts.login('ada@example.com', PASSWORD, IP);
    const b = await accounts.login('ada@example.com', PASSWORD, IP);
    await accounts.logout(a.refresh_token, a.user.id);
    expect((await problemOf(accounts.refresh(a.refresh_token))).status).toBe(401);
    const bNext = await accounts.refresh(b.refresh_token);
    // Another user's refresh token passed to logout is ignored.
    const other = await accounts.login('locked@example.com', PASSWORD, IP);
    await accounts.logout(other.refresh_token, a.user.id);
    await accounts.refresh(other.refresh_token);

    const strategy = accounts.strategy();
    expect(await authenticate(strategy, bNext.access_token)).toMatchObject({ userId: a.user.id });
    await accounts.logoutAll(a.user.id);
    expect((await problemOf(authenticate(strategy, bNext.access_token))).status).toBe(401);
    expect((await problemOf(accounts.refresh(bNext.refresh_token))).status).toBe(401);
    const live = (await repo.refreshTokensOf(a.user.id)).filter((r) => r.revoked_at === null);
    expect(live).toEqual([]);
  });

  it('changes the password: 403 naming current_password when wrong; then old tokens die, the new works', async () => {
    const before = await accounts.login('locked@example.com', PASSWORD, IP);
    const wrong = await problemOf(
      accounts.changePassword(before.user.id, 'not it at all', 'a brand new passphrase'),
    );
    expect(wrong).toMatchObject({ status: 403, fields: ['current_password'] });
    const weak = await problemOf(accounts.changePassword(before.user.id, PASSWORD, 'short'));
    expect(weak).toMatchObject({ status: 400, fields: ['new_password'] });
    const fresh = await accounts.changePassword(before.user.id, PASSWORD, 'a brand new passphrase');
    const strategy = accounts.strategy();
    expect((await problemOf(authenticate(strategy, before.access_token))).status).toBe(401);
    expect((await problemOf(accounts.refresh(before.refresh_token))).status).toBe(401);
    expect(await authenticate(strategy, fresh.access_token)).toMatchObject({ userId: before.user.id });
    await accounts.refresh(fresh.refresh_token);
    expect((await problemOf(accounts.login('locked@example.com', PASSWORD, IP))).status).toBe(401);
    await accounts.login('locked@example.com', 'a brand new passphrase', IP);
  });

  it('keeps one active admin: the last cannot be demoted or disabled (409); with two, one can', async () => {
    const root = await accounts.createUser({ email: 'root@example.com', password: PASSWORD, role: 'admin' });
    expect(await repo.countActiveAdmins()).toBe(1);
    expect((await problemOf(accounts.adminUpdate(root.id, { role: 'member' }))).status).toBe(409);
    expect((await problemOf(accounts.adminUpdate(root.id, { disabled: true }))).status).toBe(409);
    expect((await repo.userById(root.id))?.role).toBe('admin');

    const second = await accounts.createUser({ email: 'second@example.com', password: PASSWORD });
    await accounts.adminUpdate(second.id, { role: 'admin' });
    const rootSignIn = await accounts.login('root@example.com', PASSWORD, IP);
    const demoted = await accounts.adminUpdate(root.id, { role: 'member' });
    expect(demoted.role).toBe('member');
    // A role change ends the sign-ins made with the old role.
    expect((await problemOf(authenticate(accounts.strategy(), rootSignIn.access_token))).status).toBe(401);
    // Now `second` is the last admin.
    expect((await problemOf(accounts.adminUpdate(second.id, { disabled: true }))).status).toBe(409);
    // Disabling a member: sign-in says 403 after a right password, 401 after a wrong one; tokens die.
    const member = await accounts.login('ada@example.com', PASSWORD, IP);
    const disabled = await accounts.adminUpdate(member.user.id, { disabled: true });
    expect(disabled).toMatchObject({ disabled: true, disabled_at: expect.any(String) });
    expect((await problemOf(accounts.login('ada@example.com', PASSWORD, IP))).status).toBe(403);
    expect((await problemOf(accounts.login('ada@example.com', 'wrong wrong', IP))).status).toBe(401);
    expect((await problemOf(accounts.refresh(member.refresh_token))).status).toBeGreaterThanOrEqual(401);
    expect(
      (await problemOf(authenticate(accounts.strategy(), member.access_token))).status,
    ).toBeGreaterThanOrEqual(401);
    await accounts.adminUpdate(member.user.id, { disabled: false });
    await accounts.login('ada@example.com', PASSWORD, IP);
  });

  it('narrows personal keys to their owner: scopes and bases beyond the owner’s are refused', async () => {
    const owner = await accounts.createUser({
      email: 'keys@example.com',
      password: PASSWORD,
      allowed_bases: ['appSandboxDemo001', 'appSandboxArchive'],
    });
    const signIn = await accounts.login('keys@example.com', PASSWORD, IP);
    const strategy = accounts.strategy();
    const ownerPrincipal = (await authenticate(strategy, signIn.access_token))!;
    expect(ownerPrincipal.bases).toEqual(['appSandboxDemo001', 'appSandboxArchive']);

    expect(
      (await problemOf(accounts.createKey(ownerPrincipal, { name: 'x', scopes: ['admin'] }))).status,
    ).toBe(403);
    const outside = await problemOf(
      accounts.createKey(ownerPrincipal, { name: 'x', scopes: ['tools:read'], bases: ['appSandboxEmpty01'] }),
    );
    expect(outside.status).toBe(403);
    expect(outside.detail).toContain('appSandboxEmpty01');
    const past = await problemOf(
      accounts.createKey(ownerPrincipal, {
        name: 'x',
        scopes: ['tools:read'],
        expires_at: new Date(clock.now - 1_000).toISOString(),
      }),
    );
    expect(past).toMatchObject({ status: 400, fields: ['expires_at'] });

    const created = await accounts.createKey(ownerPrincipal, {
      name: ' reader ',
      scopes: ['tools:read'],
      bases: ['appSandboxDemo001'],
    });
    expect(created.key).toMatch(/^pyu_[0-9a-f]{64}$/);
    expect(created).toMatchObject({ name: 'reader', scopes: ['tools:read'], bases: ['appSandboxDemo001'] });
    const row = await repo.keyById(created.id);
    expect(row?.hash).toBe(sha256Hex(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key);
    const listed = await accounts.listKeys(owner.id);
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(listed[0]).not.toHaveProperty('hash');

    const keyPrincipal = await authenticate(strategy, created.key);
    expect(keyPrincipal).toMatchObject({
      kind: 'personal_key',
      id: created.id,
      userId: owner.id,
      scopes: ['tools:read'],
      bases: ['appSandboxDemo001'],
    });
    // The owner loses a base: the key loses it too on the next request.
    await accounts.adminUpdate(owner.id, { allowed_bases: ['appSandboxArchive'] });
    expect((await authenticate(strategy, created.key))?.bases).toEqual([]);
    // A key with '*' bases gets exactly the owner's.
    const wide = await accounts.createKey(
      { ...ownerPrincipal, bases: ['appSandboxArchive'] },
      { name: 'all mine', scopes: ['tools:write'] },
    );
    expect((await authenticate(strategy, wide.key))?.bases).toEqual(['appSandboxArchive']);

    // Revoked: 401; revoking again is fine; another user's key is 404.
    await accounts.revokeKey(owner.id, created.id);
    expect((await problemOf(authenticate(strategy, created.key))).status).toBe(401);
    await accounts.revokeKey(owner.id, created.id);
    const ada = (await repo.userByEmail('ada@example.com'))!;
    expect((await problemOf(accounts.revokeKey(ada.id, wide.id))).status).toBe(404);
    expect((await problemOf(authenticate(strategy, `pyu_${'0'.repeat(64)}`))).status).toBe(401);
    // A disabled owner's key: 403.
    await accounts.adminUpdate(owner.id, { disabled: true });
    expect((await problemOf(authenticate(strategy, wide.key))).status).toBe(403);
  });

  it('keeps a generated setting once (first writer wins) and hands a lease to one holder at a time', async () => {
    const first = await repo.setting('jwt_secret', () => 'first-value');
    const second = await repo.setting('jwt_secret', () => 'second-value');
    expect([first, second]).toEqual(['first-value', 'first-value']);
    const t = (ms: number) => new Date(clock.now + ms).toISOString();
    expect(await repo.acquireLease('retention', 'replica-a', t(60_000), t(0))).toBe(true);
    expect(await repo.acquireLease('retention', 'replica-b', t(60_000), t(1_000))).toBe(false);
    expect(await repo.acquireLease('retention', 'replica-a', t(120_000), t(2_000))).toBe(true);
    expect(await repo.acquireLease('retention', 'replica-b', t(200_000), t(121_000))).toBe(true);
  });

  it('keeps consents and GDPR requests per user and appends audit rows', async () => {
    const at = (ms: number) => new Date(clock.now + ms).toISOString();
    await repo.addConsent({
      user_id: 'usr_c',
      purpose: 'analytics',
      granted: 1,
      policy_version: 'v1',
      at: at(0),
      source: 'api',
    });
    await repo.addConsent({
      user_id: 'usr_c',
      purpose: 'analytics',
      granted: 0,
      policy_version: 'v1',
      at: at(1),
      source: 'api',
    });
    const consents = await repo.consentsOf('usr_c');
    expect(consents.map((c) => Number(c.granted))).toEqual([1, 0]);
    await repo.insertGdprRequest({
      id: 'gdpr_1',
      user_id: 'usr_c',
      subject: 'subj',
      kind: 'erasure',
      status: 'pending',
      error: null,
      created_at: at(2),
      completed_at: null,
    });
    expect((await repo.unfinishedErasures()).map((r) => r.id)).toEqual(['gdpr_1']);
    await repo.updateGdprRequest('gdpr_1', { status: 'completed', user_id: null, completed_at: at(3) });
    expect(await repo.unfinishedErasures()).toEqual([]);
    expect((await repo.gdprRequestsOf('subj'))[0]).toMatchObject({ user_id: null, status: 'completed' });
    await repo.appendAudit({
      at: at(4),
      action: 'consent_changed',
      subject: 'subj',
      actor: null,
      detail: null,
    });
    await repo.appendAudit({ at: at(5), action: 'erasure', subject: 'subj', actor: null, detail: null });
    expect((await repo.auditOf('subj', 10)).map((r) => r.action)).toEqual(['erasure', 'consent_changed']);
  });
});
