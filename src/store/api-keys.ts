import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** `pya_` prefix (lets secret scanners recognise leaked keys) + 256 bits as lowercase hex. */
export const API_KEY_PATTERN = /^pya_[0-9a-f]{64}$/;

const EXPECTED_SHAPE =
  'expected "pya_" followed by 64 lowercase hex characters (create one with `airtable-mcp-kit keys generate`)';

export function generateApiKey(): string {
  return 'pya_' + randomBytes(32).toString('hex');
}

/** SHA-256 digest of a key; 256-bit random keys need no slow hash (ASVS 6.5.2). */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A stable, non-secret label for a key: safe for logs and metric labels, useless for authenticating. */
export function keyId(key: string): string {
  return 'key_' + hashApiKey(key).toString('hex').slice(0, 12);
}

export interface ApiKeySources {
  /** A single key (API_KEY). */
  apiKey?: string;
  /** Several keys separated by commas and/or whitespace (API_KEYS). */
  apiKeys?: string;
  /** Path to a file with one key per line; `#` starts a comment. */
  keysFile?: string;
}

interface KeyCandidate {
  value: string;
  /** Where the key came from, for error messages (the key itself is never echoed). */
  origin: string;
}

/** Collects, validates and deduplicates the configured API keys (order preserved). */
export function loadApiKeys(sources: ApiKeySources): string[] {
  const candidates = [
    ...fromSingle(sources.apiKey),
    ...fromList(sources.apiKeys),
    ...(sources.keysFile ? fromFile(sources.keysFile) : []),
  ];
  for (const candidate of candidates) {
    if (!API_KEY_PATTERN.test(candidate.value)) {
      throw new Error(`${candidate.origin} is not a valid API key: ${EXPECTED_SHAPE}`);
    }
  }
  return [...new Set(candidates.map((candidate) => candidate.value))];
}

function fromSingle(value: string | undefined): KeyCandidate[] {
  const trimmed = value?.trim();
  return trimmed ? [{ value: trimmed, origin: 'API_KEY' }] : [];
}

function fromList(value: string | undefined): KeyCandidate[] {
  const entries = (value ?? '').split(/[\s,]+/).filter(Boolean);
  return entries.map((entry, index) => ({ value: entry, origin: `API_KEYS entry ${index + 1}` }));
}

function fromFile(path: string): KeyCandidate[] {
  const lines = readKeysFile(path).split(/\r?\n/);
  const candidates: KeyCandidate[] = [];
  lines.forEach((line, index) => {
    // Keys never contain '#', so everything after it is a comment, also at the end of a line.
    const value = line.replace(/#.*$/, '').trim();
    if (value) candidates.push({ value, origin: `API keys file "${path}" line ${index + 1}` });
  });
  return candidates;
}

function readKeysFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new Error(`Cannot read API keys file "${path}" (${code})`);
  }
}

/** Backs `airtable-mcp-kit keys generate [count]`: one fresh key per line, nothing else, so it can be piped. */
export function runKeysGenerate(out: NodeJS.WritableStream, count = 1): void {
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new RangeError(`Key count must be an integer from 1 to 1000, got ${count}`);
  }
  for (let i = 0; i < count; i++) out.write(generateApiKey() + '\n');
}
