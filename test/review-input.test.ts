/**
 * Text that is not text: a lone surrogate in any argument is bad input the
 * model can fix, reported the same way by every tool, never an internal error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableError } from '../src/airtable/index.js';
import { DEMO_BASE, type Harness, startHarness } from './helpers/harness.js';

const BAD_TABLE = 'Projects\ud800';
const SOME_RECORD = 'recAAAAAAAAAAAAAA';

describe('lone surrogates in arguments', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  const calls: [string, Record<string, unknown>][] = [
    ['get_records', { table_id: BAD_TABLE }],
    ['get_record', { table_id: BAD_TABLE, record_id: SOME_RECORD }],
    ['delete_record', { table_id: BAD_TABLE, record_id: SOME_RECORD }],
    ['list_comments', { table_id: BAD_TABLE, record_id: SOME_RECORD }],
    ['create_comment', { table_id: BAD_TABLE, record_id: SOME_RECORD, text: 'hi' }],
    ['search_records', { table_id: BAD_TABLE, query: 'x' }],
    ['create_record', { table_id: 'Tasks', fields: { Title: 'half \udc00 pair' } }],
  ];
  for (const [tool, args] of calls) {
    it(`${tool} rejects it as bad input, sending nothing`, async () => {
      const before = h.sandbox.stats().totals.requests;
      const text = await h.fails(tool, args);
      expect(text).toMatch(/lone surrogate/);
      expect(text).not.toMatch(/Internal error|bug in airtable-mcp-kit|URI malformed/);
      expect(h.sandbox.stats().totals.requests).toBe(before);
    });
  }

  it('names the argument that holds it', async () => {
    const text = await h.fails('create_record', { table_id: 'Tasks', fields: { Title: 'x\ud800' } });
    expect(text).toMatch(/^fields\.Title is not valid text/);
  });

  it('still accepts well-formed text outside the BMP (a real surrogate pair)', async () => {
    const out = await h.ok<{ record: { fields: { Title: string } } }>('create_record', {
      table_id: 'Tasks',
      fields: { Title: 'rocket 🚀' },
    });
    expect(out.record.fields.Title).toBe('rocket 🚀');
  });

  it('the client rejects such a table name as an invalid argument, not a URIError', async () => {
    const error = await h.airtable.listRecords(DEMO_BASE, BAD_TABLE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AirtableError);
    expect(error).toMatchObject({ type: 'INVALID_ARGUMENT' });
  });
});
