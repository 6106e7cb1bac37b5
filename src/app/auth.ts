/**
 * Authentication as a list of strategies. Each request ends with exactly one
 * principal: the first strategy that recognises the presented credential
 * decides. Server API keys are the core's strategy; modules add theirs
 * (the platform: user access tokens and personal keys).
 */
import type { Principal } from './principal.js';

export interface AuthRequest {
  /** The credential from `Authorization: Bearer …` or `X-API-Key`, if any. */
  credential?: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client address (after trust proxy). */
  ip: string;
}

/** A credential a strategy recognised as its own but refused (expired, revoked, bad signature). */
export class AuthFailure extends Error {
  override name = 'AuthFailure';
  constructor(
    message: string,
    /** 401 for a bad credential, 403 for a disabled account, 503 when it cannot be checked now. */
    readonly status: 401 | 403 | 503 = 401,
  ) {
    super(message);
  }
}

export interface AuthStrategy {
  name: string;
  /**
   * undefined: not this strategy's kind of credential, try the next one.
   * A principal: authenticated. Throws AuthFailure when the credential is
   * this strategy's but not valid. Must not log or echo the credential.
   */
  authenticate(request: AuthRequest): Promise<Principal | undefined>;
}
