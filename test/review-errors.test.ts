/**
 * The central error text of every failed tool call (describeError in
 * src/server.ts): Airtable's message, then the status and type, then the
 * hint that says what to do. Dropping any of the three must fail a test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableError, hintFor } from '../src/airtable/errors.js';
import { silentLogger } from '../src/logger.js';
import { toErrorResult } from '../src/server.js';
import { ToolFailure, ToolInputError } from '../src/tools/errors.js';
import { DEMO_BASE, type Harness, startHarness } from './helpers/harness.js';

describe('error text of Airtable failures, through a tool call', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ client: { maxRetries: 0 } });
  });
  afterAll(async () => h?.close());

  it('a refused request: message (Airtable status type). hint', async () => {
    const text = await h.fails('get_records', { table_id: 'Tasks', filter_by_formula: 'NOPE(' });
    const hint = hintFor('validation', 'INVALID_FILTER_BY_FORMULA');
    expect(text).toMatch(
      /^The formula for filtering records is invalid: .+ \(Airtable 422 INVALID_FILTER_BY_FORMULA\)\. /,
    );
    expect(text.endsWith(hint)).toBe(true);
  });

  it('a server error names status, type and the hint for its kind', async () => {
    h.sandbox.setFaults({ sequence: [500], pathPrefix: `/v0/${DEMO_BASE}/` });
    const text = await h.fails('get_records', { table_id: 'Tasks' });
    h.sandbox.setFaults(undefined);
    expect(text).toContain('(Airtable 500 ');
    expect(text).toContain(hintFor('server', 'SERVER_ERROR'));
  });

  it('a failure without an HTTP status gives the type alone, then the hint', async () => {
    h.sandbox.setFaults({ sequence: ['drop'], pathPrefix: `/v0/${DEMO_BASE}/` });
    const text = await h.fails('get_records', { table_id: 'Tasks' });
    h.sandbox.setFaults(undefined);
    expect(text).toMatch(/^Network error talking to Airtable: .+ \(NETWORK_ERROR\)\. /);
    expect(text.endsWith(hintFor('network', 'NETWORK_ERROR'))).toBe(true);
    expect(text).not.toContain('Airtable undefined');
  });
});

describe('toErrorResult', () => {
  const textOf = (error: unknown) => {
    const result = toErrorResult('some_tool', error, silentLogger());
    expect(result.isError).toBe(true);
    return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  };

  it('gives an AirtableError as message, status and type, and hint', () => {
    const error = new AirtableError({
      kind: 'validation',
      type: 'UNKNOWN_FIELD_NAME',
      message: 'Unknown field name: "Nope"',
      status: 422,
    });
    expect(textOf(error)).toBe(
      `Unknown field name: "Nope" (Airtable 422 UNKNOWN_FIELD_NAME). ${hintFor('validation', 'UNKNOWN_FIELD_NAME')}`,
    );
  });

  it('passes input errors and reported failures through as they are', () => {
    expect(textOf(new ToolInputError('table_id must name a table'))).toBe('table_id must name a table');
    expect(textOf(new ToolFailure('3 outcome unknown'))).toBe('3 outcome unknown');
  });

  it('calls anything else a bug, without a stack trace', () => {
    const text = textOf(new Error('boom'));
    expect(text).toBe(
      'Internal error in some_tool: boom. This is a bug in airtable-mcp-kit, not in your input.',
    );
  });

  it('keeps the structured output an error carries', () => {
    const result = toErrorResult('t', new ToolFailure('x', { structured: { unknown: 1 } }), silentLogger());
    expect(result.structuredContent).toEqual({ unknown: 1 });
    expect(toErrorResult('t', new Error('y'), silentLogger())).not.toHaveProperty('structuredContent');
  });
});
