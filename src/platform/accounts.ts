/**
 * Accounts: registration, sign-in, refresh-token rotation, sign-out,
 * password changes, personal keys, and the principals their credentials
 * stand for. Errors are HttpProblems with texts a client can act on; no
 * text ever holds a password, a token or a key.
 */
import { HttpProblem, problems } from '../app/api.js';
import { AuthFailure, type AuthStrategy } from '../app/auth.js';
import { hasScope, intersectBases, intersectScopes, type Principal, type Scope } from '../app/principal.js';
import type { Logger } from '../logger.js';
import type { AuditTrail } from './audit.js';
import { hashPassword, needsRehash, passwordProblem, verifyPassword } from './passwords.js';
import { EmailTakenError, type PersonalKeyRow, type PlatformRepository, type UserRow } from './repository.js';
import type { LoginThrottle } from './throttle.js';
import {
  ACCESS_TOKEN_SECONDS,
  type AccessTokens,
  InvalidToken,
  looksLikeJwt,
  newPersonalKey,
  newRefreshToken,
  PERSONAL_KEY_PATTERN,
  REFRESH_TOKEN_PATTERN,
  randomId,
  sha256Hex,
} from './tokens.js';
import {
  type Bases,
  normalizeEmail,
  type PublicKey,
  type PublicUser,
  parseBases,
  parseScopes,
  publicKey,
  publicUser,
  scopesOfRole,
  storeBases,
  userPrincipal,
} from './users.js';

/** A used refresh token presented again this soon is taken as a retry after a lost response. */
export const REFRESH_GRACE_MS = 10_000;
/** However often it is refreshed, a sign-in ends after this long (ASVS 7.3.2). */
export const SIGN_IN_MAX_DAYS = 30;
const DAY_MS = 86_400_000;
/** `last_used_at` of a key is written at most this often. */
const KEY_TOUCH_MS = 60_000;

export const INVALID_CREDENTIALS = 'Invalid email or password';

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  user: PublicUser;
}

export interface NewUser {
  email: string;
  password: string;
  first_name?: string | null;
  last_name?: string | null;
  role?: 'admin' | 'member';
  allowed_bases?: Bases;
}

export interface AccountsOptions {
  repo: PlatformRepository;
  tokens: AccessTokens;
  throttle: LoginThrottle;
  logger: Logger;
  refreshTokenDays: number;
  defaultBases: Bases;
  /** Credential and account changes are recorded here (pseudonymously). */
  audit?: AuditTrail;
  now?: () => number;
}

export class Accounts {
  readonly repo: PlatformRepository;
  readonly #options: AccountsOptions;
  #dummyHash: Promise<string> | undefined;

  constructor(options: AccountsOptions) {
    this.repo = options.repo;
    this.#options = options;
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  #iso(offsetMs = 0): string {
    return new Date(this.#now() + offsetMs).toISOString();
  }

  async #audit(
    action: string,
    userId: string | null,
    detail?: Record<string, unknown>,
    actor?: Principal,
  ): Promise<void> {
    await this.#options.audit?.record(action, userId, actor, detail);
  }

  /* ---------------------------------------------------------------- users */

  /** A new account (registration, an admin, or the CLI). Throws 400 for a refused password, 409 for a taken email. */
  async createUser(input: NewUser): Promise<UserRow> {
    const email = normalizeEmail(input.email);
    const problem = await passwordProblem(input.password, email);
    if (problem) {
      throw problems.badRequest(`password ${problem}`, [{ field: 'password', message: problem }]);
    }
    const at = this.#iso();
    try {
      return await this.repo.insertUser({
        id: randomId('usr_'),
        email,
        password_hash: await hashPassword(input.password),
        first_name: input.first_name?.trim() || null,
        last_name: input.last_name?.trim() || null,
        role: input.role ?? 'member',
        allowed_bases: storeBases(input.allowed_bases ?? this.#options.defaultBases),
        disabled_at: null,
        token_version: 0,
        created_at: at,
        updated_at: at,
        last_login_at: null,
      });
    } catch (error) {
      if (error instanceof EmailTakenError) {
        throw new HttpProblem(409, 'Conflict', 'This email is already registered; sign in instead', {
          errors: [{ field: 'email', message: 'already registered' }],
        });
      }
      throw error;
    }
  }

  async register(input: NewUser): Promise<TokenResponse> {
    const user = await this.createUser({ ...input, role: 'member' });
    await this.#audit('user_registered', user.id);
    return this.#signIn(user);
  }

  /**
   * Sign-in. A wrong password and an unknown email give the same 401 after
   * the same work (a hash is verified either way); both count towards the
   * throttle, which answers 429 with Retry-After while an account waits.
   */
  async login(emailInput: string, password: string, ip: string): Promise<TokenResponse> {
    const email = normalizeEmail(emailInput);
    const { throttle } = this.#options;
    const wait = await throttle.waitMs(email, ip, this.#now());
    if (wait > 0) {
      throw problems.tooManyRequests(
        `Too many failed sign-ins; try again in ${Math.ceil(wait / 1000)} s`,
        wait / 1000,
      );
    }
    const user = await this.repo.userByEmail(email);
    const ok = await verifyPassword(user?.password_hash ?? (await this.#dummy()), password);
    if (!user || !ok) {
      await throttle.failed(email, ip, this.#now());
      throw problems.unauthorized(INVALID_CREDENTIALS);
    }
    await throttle.succeeded(email);
    if (user.disabled_at) throw problems.forbidden('This account is disabled; ask an admin to enable it');
    const patch: { last_login_at: string; password_hash?: string } = { last_login_at: this.#iso() };
    if (needsRehash(user.password_hash)) patch.password_hash = await hashPassword(password);
    const updated = (await this.repo.updateUser(user.id, patch)) ?? user;
    return this.#signIn(updated);
  }

  /** A hash to verify against for unknown emails, so they take as long as known ones. */
  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomId('dummy-', 16));
    return this.#dummyHash;
  }

  async #signIn(user: UserRow): Promise<TokenResponse> {
    const familyId = randomId('fam_');
    const familyEnds = this.#iso(SIGN_IN_MAX_DAYS * DAY_MS);
    const refresh = await this.#issueRefresh(user.id, familyId, null, familyEnds);
    return this.#tokenResponse(user, refresh);
  }

  async #issueRefresh(userId: string, familyId: string, parentId: string | null, familyEnds: string) {
    const token = newRefreshToken();
    const expires = this.#iso(this.#options.refreshTokenDays * DAY_MS);
    await this.repo.insertRefreshToken({
      id: randomId('rt_'),
      family_id: familyId,
      user_id: userId,
      token_hash: sha256Hex(token),
      parent_id: parentId,
      created_at: this.#iso(),
      expires_at: expires < familyEnds ? expires : familyEnds,
      family_expires_at: familyEnds,
      used_at: null,
      revoked_at: null,
    });
    return token;
  }

  async #tokenResponse(user: UserRow, refreshToken: string): Promise<TokenResponse> {
    const access = await this.#options.tokens.issue(
      { userId: user.id, version: user.token_version },
      this.#now(),
    );
    return {
      access_token: access,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      user: publicUser(user),
    };
  }

  /**
   * Rotation (RFC 9700 §4.14.2): every refresh gives a new pair and ends the
   * old refresh token. A used token presented again revokes its whole family,
   * unless it comes back within the grace window and its successor was never
   * used (the client lost the response): then the successor is replaced.
   */
  async refresh(token: string): Promise<TokenResponse> {
    const invalid = () => problems.unauthorized('This refresh token is not valid; sign in again');
    if (!REFRESH_TOKEN_PATTERN.test(token)) throw invalid();
    const row = await this.repo.refreshTokenByHash(sha256Hex(token));
    if (!row || row.revoked_at) throw invalid();
    const now = this.#iso();
    if (row.expires_at <= now || row.family_expires_at <= now) {
      throw problems.unauthorized('This refresh token has expired; sign in again');
    }
    const user = await this.repo.userById(row.user_id);
    if (!user) throw invalid();
    if (user.disabled_at) throw problems.forbidden('This account is disabled; ask an admin to enable it');

    if (row.used_at === null && (await this.repo.claimRefreshToken(row.id, now))) {
      const next = await this.#issueRefresh(user.id, row.family_id, row.id, row.family_expires_at);
      return this.#tokenResponse(user, next);
    }
    // Used before (or by a concurrent request a moment ago).
    const used = (await this.repo.refreshTokenByHash(row.token_hash)) ?? row;
    const usedAt = used.used_at ? Date.parse(used.used_at) : this.#now();
    if (
      !used.revoked_at &&
      this.#now() - usedAt <= REFRESH_GRACE_MS &&
      !(await this.repo.childUsed(row.id))
    ) {
      await this.repo.revokeChildren(row.id, now);
      const next = await this.#issueRefresh(user.id, row.family_id, row.id, row.family_expires_at);
      return this.#tokenResponse(user, next);
    }
    await this.repo.revokeFamily(row.family_id, now);
    await this.#audit('refresh_token_reused', user.id);
    this.#options.logger.warn(
      { user: user.id },
      'a rotated refresh token was presented again; its sign-in is revoked',
    );
    throw problems.unauthorized(
      'This refresh token was already used, so every token of this sign-in has been revoked; sign in again',
    );
  }

  /** Ends the sign-in the refresh token belongs to (its whole family). Unknown tokens are ignored. */
  async logout(token: string, userId?: string): Promise<void> {
    if (!REFRESH_TOKEN_PATTERN.test(token)) return;
    const row = await this.repo.refreshTokenByHash(sha256Hex(token));
    if (!row || (userId && row.user_id !== userId)) return;
    await this.repo.revokeFamily(row.family_id, this.#iso());
  }

  /** Ends every sign-in of the user and every access token already issued. */
  async logoutAll(userId: string): Promise<void> {
    const at = this.#iso();
    await this.repo.revokeUserRefreshTokens(userId, at);
    await this.repo.bumpTokenVersion(userId, at);
  }

  async changePassword(userId: string, current: string, next: string): Promise<TokenResponse> {
    const user = await this.requireUser(userId);
    if (!(await verifyPassword(user.password_hash, current))) {
      throw new HttpProblem(403, 'Forbidden', 'The current password is not right', {
        errors: [{ field: 'current_password', message: 'is not right' }],
      });
    }
    const problem = await passwordProblem(next, user.email);
    if (problem) {
      throw problems.badRequest(`new_password ${problem}`, [{ field: 'new_password', message: problem }]);
    }
    await this.repo.updateUser(userId, { password_hash: await hashPassword(next), updated_at: this.#iso() });
    await this.logoutAll(userId);
    await this.#audit('password_changed', userId);
    return this.#signIn(await this.requireUser(userId));
  }

  /** An admin sets a new password (CLI reset-password): every sign-in ends. */
  async setPassword(userId: string, password: string): Promise<void> {
    const user = await this.requireUser(userId);
    const problem = await passwordProblem(password, user.email);
    if (problem) throw problems.badRequest(`password ${problem}`, [{ field: 'password', message: problem }]);
    await this.repo.updateUser(userId, {
      password_hash: await hashPassword(password),
      updated_at: this.#iso(),
    });
    await this.logoutAll(userId);
    await this.#audit('password_reset', userId);
  }

  async checkPassword(userId: string, password: string): Promise<boolean> {
    const user = await this.repo.userById(userId);
    return verifyPassword(user?.password_hash ?? (await this.#dummy()), password);
  }

  async requireUser(userId: string): Promise<UserRow> {
    const user = await this.repo.userById(userId);
    if (!user) throw problems.notFound(`No user ${userId}`);
    return user;
  }

  async updateProfile(userId: string, patch: { first_name?: string | null; last_name?: string | null }) {
    const set: { first_name?: string | null; last_name?: string | null; updated_at: string } = {
      updated_at: this.#iso(),
    };
    if (patch.first_name !== undefined) set.first_name = patch.first_name?.trim() || null;
    if (patch.last_name !== undefined) set.last_name = patch.last_name?.trim() || null;
    await this.repo.updateUser(userId, set);
    return publicUser(await this.requireUser(userId));
  }

  /**
   * An admin's change to a user. Disabling ends every sign-in; the last
   * active admin cannot be demoted or disabled (someone must be left to undo it).
   */
  async adminUpdate(
    userId: string,
    patch: { role?: 'admin' | 'member'; disabled?: boolean; allowed_bases?: Bases },
    actor?: Principal,
  ): Promise<PublicUser> {
    const user = await this.requireUser(userId);
    const losesAdmin =
      user.role === 'admin' && !user.disabled_at && (patch.role === 'member' || patch.disabled === true);
    if (losesAdmin && (await this.repo.countActiveAdmins()) <= 1) {
      throw problems.conflict('This is the last active admin; make another admin first');
    }
    const at = this.#iso();
    const set: Parameters<PlatformRepository['updateUser']>[1] = { updated_at: at };
    if (patch.role) set.role = patch.role;
    if (patch.allowed_bases) set.allowed_bases = storeBases(patch.allowed_bases);
    if (patch.disabled !== undefined) set.disabled_at = patch.disabled ? (user.disabled_at ?? at) : null;
    await this.repo.updateUser(userId, set);
    if (patch.disabled === true || (patch.role && patch.role !== user.role)) await this.logoutAll(userId);
    await this.#audit(
      'user_updated',
      userId,
      {
        role: patch.role,
        disabled: patch.disabled,
        bases_changed: patch.allowed_bases !== undefined,
      },
      actor,
    );
    return publicUser(await this.requireUser(userId));
  }

  /** 404 for an unknown user, 409 for the last active admin (someone must be left to manage the server). */
  async assertRemovable(userId: string): Promise<void> {
    const user = await this.requireUser(userId);
    if (user.role === 'admin' && !user.disabled_at && (await this.repo.countActiveAdmins()) <= 1) {
      throw problems.conflict('This is the last active admin; make another admin first');
    }
  }

  async findUser(idOrEmail: string): Promise<UserRow | undefined> {
    return idOrEmail.includes('@')
      ? this.repo.userByEmail(normalizeEmail(idOrEmail))
      : this.repo.userById(idOrEmail);
  }

  /* ---------------------------------------------------------------- personal keys */

  /**
   * A personal key for the signed-in user. It may ask for fewer scopes and
   * bases than its owner has, never more (403 names what is not allowed).
   */
  async createKey(
    owner: Principal,
    input: { name: string; scopes: readonly Scope[]; bases?: Bases; expires_at?: string },
  ): Promise<PublicKey & { key: string }> {
    const userId = owner.userId!;
    const beyond = input.scopes.filter((scope) => !hasScope(owner, scope));
    if (beyond.length) {
      throw problems.forbidden(`A key cannot have scopes you do not have: ${beyond.join(', ')}`);
    }
    const bases = input.bases ?? '*';
    if (bases !== '*' && owner.bases !== '*') {
      const outside = bases.filter((id) => !owner.bases.includes(id));
      if (outside.length)
        throw problems.forbidden(`A key cannot reach bases you may not use: ${outside.join(', ')}`);
    }
    if (input.expires_at && Date.parse(input.expires_at) <= this.#now()) {
      throw problems.badRequest('expires_at must be in the future', [
        { field: 'expires_at', message: 'must be in the future' },
      ]);
    }
    const key = newPersonalKey();
    const row = await this.repo.insertKey({
      id: randomId('pk_'),
      user_id: userId,
      name: input.name.trim(),
      prefix: key.slice(0, 12),
      hash: sha256Hex(key),
      scopes: JSON.stringify([...new Set(input.scopes)]),
      bases: storeBases(bases),
      created_at: this.#iso(),
      last_used_at: null,
      expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
      revoked_at: null,
    });
    await this.#audit('key_created', userId, { key_id: row.id });
    return { ...publicKey(row), key };
  }

  async listKeys(userId: string): Promise<PublicKey[]> {
    return (await this.repo.keysOf(userId)).map(publicKey);
  }

  async revokeKey(userId: string, keyId: string): Promise<void> {
    const key = await this.repo.keyById(keyId);
    if (!key || key.user_id !== userId) throw problems.notFound(`You have no key ${keyId}`);
    if (!(await this.repo.revokeKey(keyId, userId, this.#iso()))) return; // already revoked: idempotent
    await this.#audit('key_revoked', userId, { key_id: keyId });
  }

  /* ---------------------------------------------------------------- authentication */

  /** The principal of a user access token (JWT) or a personal key; undefined for other credentials. */
  strategy(): AuthStrategy {
    return {
      name: 'platform',
      authenticate: async ({ credential }) => {
        if (!credential) return undefined;
        if (credential.startsWith('pyu_')) return this.#byKey(credential);
        if (looksLikeJwt(credential)) return this.#byAccessToken(credential);
        return undefined;
      },
    };
  }

  async #byAccessToken(token: string): Promise<Principal> {
    let claims: Awaited<ReturnType<AccessTokens['verify']>>;
    try {
      claims = await this.#options.tokens.verify(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw new AuthFailure(capitalise(error.message), 401);
      throw error;
    }
    const user = await this.#load(claims.userId);
    if (!user || user.token_version !== claims.version) {
      throw new AuthFailure('This access token has been revoked; sign in again', 401);
    }
    if (user.disabled_at) throw new AuthFailure('This account is disabled; ask an admin to enable it', 403);
    return userPrincipal(user);
  }

  async #byKey(key: string): Promise<Principal> {
    if (!PERSONAL_KEY_PATTERN.test(key)) throw new AuthFailure('Invalid API key', 401);
    let row: PersonalKeyRow | undefined;
    try {
      row = await this.repo.keyByHash(sha256Hex(key));
    } catch {
      throw new AuthFailure('API keys cannot be checked: the database is unreachable; retry shortly', 503);
    }
    if (!row) throw new AuthFailure('Invalid API key', 401);
    if (row.revoked_at) throw new AuthFailure('This API key has been revoked', 401);
    if (row.expires_at && row.expires_at <= this.#iso())
      throw new AuthFailure('This API key has expired', 401);
    const owner = await this.#load(row.user_id);
    if (!owner) throw new AuthFailure('Invalid API key', 401);
    if (owner.disabled_at) throw new AuthFailure('The account of this key is disabled', 403);
    if (!row.last_used_at || Date.parse(row.last_used_at) < this.#now() - KEY_TOUCH_MS) {
      void this.repo.touchKey(row.id, this.#iso()).catch(() => {});
    }
    return keyPrincipal(row, owner);
  }

  /**
   * A stored principal (a workflow's owner) as it is now: null when its
   * account is disabled or gone, or its key revoked or expired; undefined
   * when it is not one this module issues.
   */
  async currentPrincipal(stored: Principal): Promise<Principal | null | undefined> {
    if (stored.kind === 'user') {
      const user = await this.repo.userById(stored.id);
      return user && !user.disabled_at ? userPrincipal(user) : null;
    }
    if (stored.kind !== 'personal_key') return undefined;
    const key = await this.repo.keyById(stored.id);
    if (!key || key.revoked_at || (key.expires_at && key.expires_at <= this.#iso())) return null;
    const owner = await this.repo.userById(key.user_id);
    return owner && !owner.disabled_at ? keyPrincipal(key, owner) : null;
  }

  async #load(userId: string): Promise<UserRow | undefined> {
    try {
      return await this.repo.userById(userId);
    } catch {
      throw new AuthFailure('Sign-ins cannot be checked: the database is unreachable; retry shortly', 503);
    }
  }
}

/** A key's rights: its scopes and bases, never beyond its owner's. */
function keyPrincipal(row: PersonalKeyRow, owner: UserRow): Principal {
  return {
    kind: 'personal_key',
    id: row.id,
    userId: owner.id,
    role: owner.role,
    scopes: intersectScopes(scopesOfRole(owner.role), parseScopes(row.scopes)),
    bases: intersectBases(parseBases(owner.allowed_bases), parseBases(row.bases)),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
