/** Airtable-shaped ids: a 3-letter prefix plus 14 characters from [0-9A-Za-z], drawn from a CSPRNG. */
import { randomBytes } from 'node:crypto';
import { idPatternFor } from '../airtable/ids.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62 * 4 = 248: bytes at or above it are rejected so every character is equally likely. */
const REJECT_FROM = 248;

export type IdPrefix = 'app' | 'tbl' | 'fld' | 'viw' | 'rec' | 'usr' | 'com' | 'att' | 'sel' | 'itr';

export function randomChars(count: number): string {
  let out = '';
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte < REJECT_FROM) out += ALPHABET[byte % 62];
      if (out.length === count) break;
    }
  }
  return out;
}

export function newId(prefix: IdPrefix): string {
  return prefix + randomChars(14);
}

const SHAPES = new Map<string, RegExp>();

/** True when `value` is `prefix` followed by exactly 14 alphanumerics. */
export function isId(prefix: IdPrefix, value: string): boolean {
  let re = SHAPES.get(prefix);
  if (!re) {
    re = idPatternFor(prefix);
    SHAPES.set(prefix, re);
  }
  return re.test(value);
}
