/**
 * How users and keys look from outside (snake_case, as the original
 * system's JSON) and what a user may do: the principal a credential stands for.
 */
import { ALL_SCOPES, type Principal, type Scope } from '../app/principal.js';
import type { PersonalKeyRow, UserRow } from './repository.js';

export type Bases = '*' | readonly string[];

/** Admins may do everything; members everything but administration. */
export function scopesOfRole(role: UserRow['role']): readonly Scope[] {
  return role === 'admin' ? ALL_SCOPES : ALL_SCOPES.filter((scope) => scope !== 'admin');
}

export function parseBases(stored: string): Bases {
  if (stored === '*') return '*';
  try {
    const parsed = JSON.parse(stored) as unknown;
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return []; // unreadable: nothing rather than everything
  }
}

export function storeBases(bases: Bases): string {
  return bases === '*' ? '*' : JSON.stringify([...new Set(bases)]);
}

export function parseScopes(stored: string): Scope[] {
  try {
    const parsed = JSON.parse(stored) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((scope): scope is Scope => (ALL_SCOPES as readonly unknown[]).includes(scope));
  } catch {
    return [];
  }
}

export function userPrincipal(user: UserRow): Principal {
  return {
    kind: 'user',
    id: user.id,
    userId: user.id,
    role: user.role,
    scopes: scopesOfRole(user.role),
    bases: parseBases(user.allowed_bases),
  };
}

export interface PublicUser {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  role: 'admin' | 'member';
  allowed_bases: Bases;
  disabled: boolean;
  disabled_at: string | null;
  created_at: string;
  last_login_at: string | null;
}

export function publicUser(user: UserRow): PublicUser {
  return {
    id: user.id,
    email: user.email,
    first_name: user.first_name,
    last_name: user.last_name,
    role: user.role,
    allowed_bases: parseBases(user.allowed_bases),
    disabled: user.disabled_at !== null,
    disabled_at: user.disabled_at,
    created_at: user.created_at,
    last_login_at: user.last_login_at,
  };
}

export interface PublicKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  bases: Bases;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export function publicKey(key: PersonalKeyRow): PublicKey {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: parseScopes(key.scopes),
    bases: parseBases(key.bases),
    created_at: key.created_at,
    last_used_at: key.last_used_at,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
