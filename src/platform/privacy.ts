/**
 * GDPR: the consent ledger, export, erasure and their status. Export and
 * erasure go through the root's GDPR registry, so every module's data (the
 * core's usage records, chats, workflows) is included; this file also holds
 * the platform's own hooks. Every request and consent change is audited.
 */
import type { GdprHooks, GdprRegistry } from '../app/module.js';
import type { Principal } from '../app/principal.js';
import type { Logger } from '../logger.js';
import type { Accounts } from './accounts.js';
import type { AuditTrail } from './audit.js';
import type { PlatformRepository } from './repository.js';
import type { LoginThrottle } from './throttle.js';
import { randomId } from './tokens.js';
import { publicKey, publicUser } from './users.js';

export interface ConsentState {
  purpose: string;
  granted: boolean;
  policy_version: string;
  updated_at: string;
}

export interface PrivacyOptions {
  repo: PlatformRepository;
  accounts: Accounts;
  audit: AuditTrail;
  registry: GdprRegistry;
  throttle: LoginThrottle;
  logger: Logger;
  retention: { usage_records_days: number; refresh_token_days: number };
  now?: () => number;
}

export class Privacy {
  readonly #o: PrivacyOptions;

  constructor(options: PrivacyOptions) {
    this.#o = options;
  }

  #iso(): string {
    return new Date(this.#o.now?.() ?? Date.now()).toISOString();
  }

  /* ---------------------------------------------------------------- consent */

  async setConsent(
    principal: Principal,
    userId: string,
    input: { purpose: string; granted: boolean; policy_version: string },
  ): Promise<ConsentState> {
    const at = this.#iso();
    await this.#o.repo.addConsent({
      user_id: userId,
      purpose: input.purpose,
      granted: input.granted ? 1 : 0,
      policy_version: input.policy_version,
      at,
      source: principal.kind,
    });
    await this.#o.audit.record(input.granted ? 'consent_granted' : 'consent_withdrawn', userId, principal, {
      purpose: input.purpose,
      policy_version: input.policy_version,
    });
    return {
      purpose: input.purpose,
      granted: input.granted,
      policy_version: input.policy_version,
      updated_at: at,
    };
  }

  async consents(userId: string): Promise<{ current: ConsentState[]; history: ConsentState[] }> {
    const history = (await this.#o.repo.consentsOf(userId)).map((row) => ({
      purpose: row.purpose,
      granted: Boolean(row.granted),
      policy_version: row.policy_version,
      updated_at: row.at,
      source: row.source,
    }));
    const latest = new Map<string, ConsentState>();
    for (const entry of history) latest.set(entry.purpose, entry);
    return { current: [...latest.values()], history };
  }

  /* ---------------------------------------------------------------- export and erasure */

  /** Everything every module holds about the caller, as one JSON document. */
  async export(principal: Principal, userId: string) {
    const id = await this.#request(userId, 'export');
    await this.#o.audit.record('export_requested', userId, principal, { request_id: id });
    try {
      const data = await this.#o.registry.exportUser(userId);
      await this.#o.repo.updateGdprRequest(id, { status: 'completed', completed_at: this.#iso() });
      return { exported_at: this.#iso(), user_id: userId, request_id: id, data };
    } catch (error) {
      await this.#fail(id, error);
      throw error;
    }
  }

  /**
   * Erasure. Access ends first (every token and key revoked, the account
   * disabled), then every module removes or anonymises its data; the
   * request row keeps the user id only until that finishes, so a failed
   * erasure is retried (at the next start, or by asking again).
   */
  async erase(
    principal: Principal | undefined,
    userId: string,
  ): Promise<{ request_id: string; status: string }> {
    const user = await this.#o.repo.userById(userId);
    const id = await this.#request(userId, 'erasure');
    await this.#o.audit.record('erasure_requested', userId, principal, { request_id: id });
    if (user) {
      const at = this.#iso();
      await this.#o.accounts.logoutAll(userId);
      await this.#o.repo.revokeUserKeys(userId, at);
      await this.#o.repo.updateUser(userId, { disabled_at: user.disabled_at ?? at, updated_at: at });
    }
    return { request_id: id, status: await this.#finishErasure(id, userId) };
  }

  async #finishErasure(requestId: string, userId: string): Promise<'completed' | 'pending'> {
    try {
      await this.#o.registry.eraseUser(userId);
      await this.#o.repo.detachGdprRequests(userId);
      await this.#o.repo.updateGdprRequest(requestId, {
        status: 'completed',
        completed_at: this.#iso(),
        user_id: null,
        error: null,
      });
      await this.#o.audit.record('erasure_completed', userId, undefined, { request_id: requestId });
      return 'completed';
    } catch (error) {
      await this.#fail(requestId, error);
      this.#o.logger.error(
        { request: requestId, err: error },
        'an erasure did not finish; it will be retried',
      );
      return 'pending';
    }
  }

  /** Erasures a crash or a failing module left unfinished, finished now. */
  async resumeErasures(): Promise<number> {
    let finished = 0;
    for (const request of await this.#o.repo.unfinishedErasures()) {
      if (!request.user_id) continue;
      if ((await this.#finishErasure(request.id, request.user_id)) === 'completed') finished++;
    }
    return finished;
  }

  async #request(userId: string, kind: 'export' | 'erasure'): Promise<string> {
    const id = randomId('gdpr_');
    await this.#o.repo.insertGdprRequest({
      id,
      user_id: userId,
      subject: this.#o.audit.pseudonym(userId),
      kind,
      status: 'pending',
      error: null,
      created_at: this.#iso(),
      completed_at: null,
    });
    return id;
  }

  async #fail(requestId: string, error: unknown): Promise<void> {
    // The stored reason is the error's kind, never its message (it could quote personal data).
    const reason = error instanceof Error ? error.name : 'error';
    await this.#o.repo.updateGdprRequest(requestId, { status: 'failed', error: reason }).catch(() => {});
  }

  async status(userId: string) {
    const { current } = await this.consents(userId);
    const requests = await this.#o.repo.gdprRequestsOf(this.#o.audit.pseudonym(userId));
    return {
      consents: current,
      requests: requests.map((row) => ({
        id: row.id,
        kind: row.kind,
        status: row.status,
        created_at: row.created_at,
        completed_at: row.completed_at,
      })),
      retention: {
        ...this.#o.retention,
        audit_log: 'kept without personal data (pseudonymous)',
      },
    };
  }

  /* ---------------------------------------------------------------- the platform's own data */

  /** The platform's part of an export and an erasure (the registry calls it with the others). */
  hooks(): GdprHooks {
    const { repo } = this.#o;
    return {
      export: async (userId) => {
        const user = await repo.userById(userId);
        if (!user) return {};
        const consents = await this.consents(userId);
        const signIns = await repo.refreshTokensOf(userId);
        const requests = await repo.gdprRequestsOf(this.#o.audit.pseudonym(userId));
        return {
          profile: publicUser(user),
          consents: consents.history,
          keys: (await repo.keysOf(userId)).map(publicKey),
          sign_ins: summariseSignIns(signIns),
          gdpr_requests: requests.map((row) => ({
            id: row.id,
            kind: row.kind,
            status: row.status,
            created_at: row.created_at,
            completed_at: row.completed_at,
          })),
        };
      },
      erase: async (userId) => {
        const user = await repo.userById(userId);
        if (user) await this.#o.throttle.forget(user.email);
        await repo.eraseUserData(userId);
      },
    };
  }
}

/** One entry per sign-in (refresh-token family): when it began, was last refreshed, and how it ended. */
function summariseSignIns(rows: Awaited<ReturnType<PlatformRepository['refreshTokensOf']>>) {
  const families = new Map<
    string,
    { started_at: string; last_refreshed_at: string; ends_at: string; revoked: boolean }
  >();
  for (const row of rows) {
    const family = families.get(row.family_id);
    if (!family) {
      families.set(row.family_id, {
        started_at: row.created_at,
        last_refreshed_at: row.created_at,
        ends_at: row.family_expires_at,
        revoked: row.revoked_at !== null,
      });
    } else {
      if (row.created_at > family.last_refreshed_at) family.last_refreshed_at = row.created_at;
      family.revoked ||= row.revoked_at !== null;
    }
  }
  return [...families.values()];
}
