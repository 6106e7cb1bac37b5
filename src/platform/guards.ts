/**
 * Who may use a platform route, checked in one place. "My" routes need a
 * person (an access token or a personal key); admin routes need the admin
 * scope from a real credential; the unauthenticated loopback mode is
 * nobody in particular, so it gets neither.
 */
import { HttpProblem, problems } from '../app/api.js';
import { hasScope, type Principal } from '../app/principal.js';

/** The signed-in user's id; 401 without a credential, 403 for a credential without an account. */
export function userOf(principal: Principal): string {
  if (principal.userId) return principal.userId;
  if (principal.kind === 'anonymous' || principal.scopes.length === 0) {
    throw problems.unauthorized('Sign in first (POST /api/auth/login), then send the access token');
  }
  throw problems.forbidden(
    'This route is for signed-in users (an access token or a personal key); a server key has no account',
  );
}

/** Only an access token (not a personal key) may manage keys and passwords. */
export function signedInUserOf(principal: Principal): string {
  const userId = userOf(principal);
  if (principal.kind !== 'user') {
    throw problems.forbidden(
      'Use an access token from signing in for this; a personal key cannot manage credentials',
    );
  }
  return userId;
}

export function requireAdmin(principal: Principal): void {
  if (principal.kind === 'anonymous' || principal.scopes.length === 0) {
    throw problems.unauthorized('Sign in as an admin, or send a server API key');
  }
  if (!hasScope(principal, 'admin')) throw problems.forbidden('This needs an admin');
}

export function isAdmin(principal: Principal): boolean {
  return principal.kind !== 'anonymous' && hasScope(principal, 'admin');
}

export const registrationClosed = () =>
  new HttpProblem(
    403,
    'Forbidden',
    'Registration is closed on this server; ask an admin to create your account',
  );
