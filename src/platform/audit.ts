/**
 * The audit trail: who did what to which account, append-only and
 * pseudonymous. Subjects and actors are keyed hashes (HMAC-SHA256 with a
 * key kept in the database), never ids or emails, so the trail survives an
 * erasure without pointing at the person. The API can read it, never edit it.
 */
import { createHmac } from 'node:crypto';
import type { Principal } from '../app/principal.js';
import type { PlatformRepository } from './repository.js';

export class AuditTrail {
  constructor(
    private readonly repo: PlatformRepository,
    private readonly key: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The stable pseudonym of a user id: the same user always gets the same one. */
  pseudonym(userId: string): string {
    return `sub_${createHmac('sha256', this.key).update(userId).digest('hex').slice(0, 32)}`;
  }

  /** Who acted: a user's pseudonym, or the non-personal id of a server key or the system. */
  actorOf(principal: Principal | undefined): string | null {
    if (!principal) return null;
    if (principal.userId) return this.pseudonym(principal.userId);
    return `${principal.kind}:${principal.id}`;
  }

  async record(
    action: string,
    subjectUserId: string | null,
    actor?: Principal,
    detail?: Record<string, unknown>,
  ): Promise<void> {
    const clean = detail && Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== undefined));
    await this.repo.appendAudit({
      at: new Date(this.now()).toISOString(),
      action,
      subject: subjectUserId ? this.pseudonym(subjectUserId) : null,
      actor: this.actorOf(actor),
      detail: clean && Object.keys(clean).length ? JSON.stringify(clean) : null,
    });
  }
}
