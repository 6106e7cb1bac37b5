/** Token redaction replaces whole tokens only: ordinary words in error texts stay readable. */
import { describe, expect, it } from 'vitest';
import { AirtableClient, AirtableError } from '../src/airtable/index.js';
import { redactSecret } from '../src/airtable/redact.js';

const BASE = 'appAAAAAAAAAAAAAA';
const REC = 'recAAAAAAAAAAAAAA';

/** A client whose every request fails with a socket error carrying `detail`. */
async function networkFailure(token: string, detail: string): Promise<AirtableError> {
  const fetchImpl = (async () => {
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error(detail), { code: 'UND_ERR_SOCKET' }),
    });
  }) as typeof fetch;
  const client = new AirtableClient({
    token,
    baseUrl: 'https://example.test/',
    fetch: fetchImpl,
    maxRetries: 0,
  });
  const error = await client.getRecord(BASE, 'Tasks', REC).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AirtableError);
  return error as AirtableError;
}

describe('token redaction', () => {
  it('leaves words that merely contain a short token alone', async () => {
    const error = await networkFailure('SOCKE', 'other side closed');
    expect(error.message).toContain('UND_ERR_SOCKET');
    expect(error.message).not.toContain('[token]');
  });

  it('still redacts the token where it appears whole', async () => {
    const token = 'patShort.abc123';
    const error = await networkFailure(token, `bad header Bearer ${token}. Closing`);
    expect(error.message).toContain('Bearer [token]. Closing');
    expect(error.message).not.toContain('abc123');
  });

  it('redactSecret works on word edges only', () => {
    expect(redactSecret('UND_ERR_SOCKET', 'SOCKE')).toBe('UND_ERR_SOCKET');
    expect(redactSecret('UND_ERR_SOCKET', 'ERR')).toBe('UND_ERR_SOCKET');
    expect(redactSecret('token=abc&x=abc', 'abc')).toBe('token=[token]&x=[token]');
    expect(redactSecret('"abc"', 'abc')).toBe('"[token]"');
    expect(redactSecret('abc', 'abc')).toBe('[token]');
    expect(redactSecret('a.b*c(d) and a.b*c(d)', 'a.b*c(d)')).toBe('[token] and [token]');
    expect(redactSecret('unchanged', '')).toBe('unchanged');
  });
});
