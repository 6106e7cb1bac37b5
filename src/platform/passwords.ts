/**
 * Password storage and policy. Argon2id with OWASP's parameters (19 MiB,
 * 2 passes, 1 lane); the parameters are in each PHC string, so a sign-in
 * rehashes a password stored with older ones. Policy per ASVS 5.0 V6.2:
 * 8 to 256 characters, no composition rules, no truncation, the most common
 * passwords refused.
 */
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';

const ARGON2ID = 2 as Algorithm;

export const HASH_OPTIONS = Object.freeze({
  algorithm: ARGON2ID,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, HASH_OPTIONS);
}

/** False for a wrong password and for a hash that cannot be read (never throws on bad input). */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** The stored hash was made with other parameters than today's: rehash after a successful sign-in. */
export function needsRehash(stored: string): boolean {
  try {
    const used = parseOptions(stored);
    return (
      used.algorithm !== HASH_OPTIONS.algorithm ||
      used.memoryCost !== HASH_OPTIONS.memoryCost ||
      used.timeCost !== HASH_OPTIONS.timeCost ||
      used.parallelism !== HASH_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}

let commonPasswords: Promise<ReadonlySet<string>> | undefined;

/**
 * The common-password list (zxcvbn-ts' ranked list of leaked passwords), loaded
 * on first use: only the entries long enough to pass the length rule matter.
 */
function loadCommonPasswords(): Promise<ReadonlySet<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => {
    const list = (dictionary as Record<string, readonly string[]>)['passwords-common'] ?? [];
    return new Set(list.filter((p) => p.length >= MIN_PASSWORD_LENGTH).map((p) => p.toLowerCase()));
  });
  return commonPasswords;
}

/** Why this password is refused, or undefined when it is acceptable. */
export async function passwordProblem(password: string, email?: string): Promise<string | undefined> {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const lowered = password.toLowerCase();
  if ((await loadCommonPasswords()).has(lowered)) {
    return 'is one of the most common passwords; choose another (a few unrelated words work well)';
  }
  if (email && lowered === email.toLowerCase()) return 'must not be your email address';
  return undefined;
}
