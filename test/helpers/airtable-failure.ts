import { expect } from 'vitest';
import { AirtableError } from '../../src/airtable/index.js';

/** The AirtableError a call fails with; fails the test if it succeeds or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<AirtableError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AirtableError);
    return err as AirtableError;
  }
  throw new Error('expected an AirtableError');
}
