/**
 * Who is asking. Every request (MCP or /api) and every in-process tool call
 * carries exactly one principal; tools, routes and usage records read it.
 * Auth strategies produce principals; nothing else does.
 */

/** What a principal may do. `tools:write` implies `tools:read`. */
export const SCOPES = ['tools:read', 'tools:write', 'chat', 'workflows', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type PrincipalKind =
  /** Auth is off (loopback, or --no-auth): everything is allowed. */
  | 'anonymous'
  /** A server API key (API_KEY(S), keys file, or `keys create`). */
  | 'server_key'
  /** A signed-in user (a platform access token). */
  | 'user'
  /** A user's personal API key (never more than its owner may do). */
  | 'personal_key'
  /** The server itself (scheduled workflows, maintenance jobs). */
  | 'system';

export interface Principal {
  kind: PrincipalKind;
  /** A stable, non-secret id: the key id (`key_…`), user id or `anonymous`. Safe for logs and metrics. */
  id: string;
  /** The person behind it, when there is one (users and their personal keys). */
  userId?: string;
  role?: 'admin' | 'member';
  scopes: readonly Scope[];
  /** Bases this principal may touch: every base (`'*'`) or a list of base ids. */
  bases: '*' | readonly string[];
}

export const ALL_SCOPES: readonly Scope[] = SCOPES;

export const ANONYMOUS: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  scopes: ALL_SCOPES,
  bases: '*',
}) as Principal;

export const SYSTEM: Principal = Object.freeze({
  kind: 'system',
  id: 'system',
  scopes: ALL_SCOPES,
  bases: '*',
}) as Principal;

/** A server API key may do everything: it is the operator's own credential. */
export function serverKeyPrincipal(keyId: string): Principal {
  return { kind: 'server_key', id: keyId, scopes: ALL_SCOPES, bases: '*' };
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  if (principal.scopes.includes(scope)) return true;
  return scope === 'tools:read' && principal.scopes.includes('tools:write');
}

export function canWrite(principal: Principal): boolean {
  return hasScope(principal, 'tools:write');
}

export function canUseBase(principal: Principal, baseId: string): boolean {
  return principal.bases === '*' || principal.bases.includes(baseId);
}

/** The intersection of two base grants (a key narrows its owner's bases, never widens them). */
export function intersectBases(a: Principal['bases'], b: Principal['bases'] | undefined): Principal['bases'] {
  if (b === undefined || b === '*') return a;
  if (a === '*') return b;
  return a.filter((id) => b.includes(id));
}

/** The scopes a key may have: those asked for that its owner has. */
export function intersectScopes(owner: readonly Scope[], asked: readonly Scope[]): Scope[] {
  const ownerPrincipal = { scopes: owner } as Principal;
  return asked.filter((scope) => hasScope(ownerPrincipal, scope));
}
