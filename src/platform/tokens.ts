/**
 * Credentials. Access tokens are JWTs (jose) with one pinned algorithm,
 * HS256, a 15-minute life and iss/aud/sub/jti plus a token type, so a
 * refresh token or a token for another audience is never taken for one.
 * Refresh tokens and personal keys are opaque 256-bit random strings stored
 * as SHA-256 (ASVS 6.5.2: high-entropy secrets need no slow hash).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'airtable-mcp-kit';
export const JWT_AUDIENCE = 'airtable-mcp-kit/api';
/** RFC 9068's media type for access tokens, in the `typ` header. */
export const JWT_TYPE = 'at+jwt';
const CLOCK_TOLERANCE_SECONDS = 5;

/** `pyu_` (a user's key; the server's own keys are `pya_`) + 64 hex = 256 bits. */
export const PERSONAL_KEY_PATTERN = /^pyu_[0-9a-f]{64}$/;
/** `rt_` + 43 base64url characters = 256 bits. */
export const REFRESH_TOKEN_PATTERN = /^rt_[A-Za-z0-9_-]{43}$/;
/** Three base64url parts; the signature may be empty (alg: none), which verification then refuses. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export interface AccessClaims {
  userId: string;
  /** The user's token version when issued: bumping it ends every access token at once. */
  version: number;
}

export function looksLikeJwt(credential: string): boolean {
  return JWT_SHAPE.test(credential);
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function randomId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString('hex');
}

export function newRefreshToken(): string {
  return 'rt_' + randomBytes(32).toString('base64url');
}

export function newPersonalKey(): string {
  return 'pyu_' + randomBytes(32).toString('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

export class AccessTokens {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  async issue(claims: AccessClaims, now = Date.now()): Promise<string> {
    const issuedAt = Math.floor(now / 1000);
    return new SignJWT({ token_type: 'access', ver: claims.version })
      .setProtectedHeader({ alg: JWT_ALGORITHM, typ: JWT_TYPE })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setSubject(claims.userId)
      .setJti(randomBytes(16).toString('base64url'))
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ACCESS_TOKEN_SECONDS)
      .sign(this.#key);
  }

  /** The claims of a valid access token; throws InvalidToken with a short reason otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        typ: JWT_TYPE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: ACCESS_TOKEN_SECONDS + CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      });
      if (payload.token_type !== 'access' || typeof payload.ver !== 'number' || !payload.sub) {
        throw new InvalidToken('not an access token');
      }
      return { userId: payload.sub, version: payload.ver };
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      throw new InvalidToken(reasonOf(error));
    }
  }
}

export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired; refresh it or sign in again';
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the access token uses an algorithm this server does not accept';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the access token signature is not valid';
  if (error instanceof errors.JWTClaimValidationFailed) return 'the access token is not for this server';
  return 'the access token is not valid';
}
