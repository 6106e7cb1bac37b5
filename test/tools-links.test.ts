/**
 * expand_links over MCP: the built CLI over stdio against a sandbox in this
 * process, so the requests it costs can be counted at the sandbox.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../src/sandbox/index.js';
import { connectCli } from './helpers/stdio-client.js';

const LINK = /rec[A-Za-z0-9]{14}/g;

/** A linked id with its name beside it; a name with list punctuation or quotes is shown as JSON. */
const shows = (text: string, id: string, name: string) =>
  text.includes(`${id} ${name}`) || text.includes(`${id} ${JSON.stringify(name)}`);

type Structured = {
  records: { id: string; fields: Record<string, unknown> }[];
  linked?: Record<string, string>;
};

const connect = (sandbox: SandboxHandle): Promise<Client> =>
  connectCli(['--airtable-url', sandbox.url, '--base', sandbox.baseIds[0]!], {
    AIRTABLE_TOKEN: sandbox.token,
  });

describe('expand_links', () => {
  let sandbox: SandboxHandle;
  let client: Client;
  let projectNames: Map<string, string>;

  const call = async (name: string, args: Record<string, unknown>) => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    return { text, structured: result.structuredContent as Structured };
  };
  const requests = () => sandbox.stats().totals.requests;
  /** Requests one call makes, measured on its second run (the table's schema is cached by then). */
  const costOf = async (name: string, args: Record<string, unknown>) => {
    await call(name, args);
    const before = requests();
    const result = await call(name, args);
    return { ...result, requests: requests() - before };
  };

  beforeAll(async () => {
    sandbox = await startSandbox();
    client = await connect(sandbox);
    const projects = await call('get_records', { table_id: 'Projects', fields: ['Name'] });
    projectNames = new Map(projects.structured.records.map((r) => [r.id, String(r.fields.Name)]));
  });
  afterAll(async () => {
    await client?.close();
    await sandbox?.stop();
  });

  it('get_records: names beside linked ids, in the text and as `linked`, for one extra request', async () => {
    const read = { table_id: 'Tasks', max_records: 20, fields: ['Title', 'Project'] };
    const plain = await costOf('get_records', read);
    const expanded = await costOf('get_records', { ...read, expand_links: true });
    expect(expanded.requests).toBe(plain.requests + 1);
    expect(plain.structured.linked).toBeUndefined();

    const linkedIds = new Set(
      expanded.structured.records.flatMap((r) => (Array.isArray(r.fields.Project) ? r.fields.Project : [])),
    );
    expect(linkedIds.size).toBeGreaterThan(1);
    expect(expanded.structured.linked).toEqual(
      Object.fromEntries([...linkedIds].map((id) => [id, projectNames.get(id as string)])),
    );
    expect(expanded.text.split('\n')[0]).toContain(`linked names: ${linkedIds.size} (1 extra request)`);
    for (const id of linkedIds) {
      const name = projectNames.get(id as string)!;
      expect(shows(expanded.text, id as string, name), `${id} ${name}`).toBe(true);
      expect(shows(plain.text, id as string, name)).toBe(false);
    }
    // The record ids themselves are untouched: the same records, the same order.
    expect(expanded.structured.records.map((r) => r.id)).toEqual(plain.structured.records.map((r) => r.id));
  });

  it('costs one request per linked table: Project and Assignee make two', async () => {
    const read = { table_id: 'Tasks', max_records: 20, fields: ['Title', 'Project', 'Assignee'] };
    const plain = await costOf('get_records', read);
    const expanded = await costOf('get_records', { ...read, expand_links: true });
    expect(expanded.requests).toBe(plain.requests + 2);
    expect(expanded.text.split('\n')[0]).toMatch(/linked names: \d+ \(2 extra requests\)/);
    const assignees = expanded.structured.records.flatMap((r) =>
      Array.isArray(r.fields.Assignee) ? (r.fields.Assignee as string[]) : [],
    );
    expect(assignees.length).toBeGreaterThan(0);
    for (const id of assignees) expect(expanded.structured.linked?.[id]).toEqual(expect.any(String));
  });

  it('get_record and search_records expand the same way', async () => {
    const tasks = await call('get_records', { table_id: 'Tasks', max_records: 20 });
    const withProject = tasks.structured.records.find((r) => Array.isArray(r.fields.Project));
    expect(withProject).toBeDefined();
    const projectId = (withProject!.fields.Project as string[])[0]!;
    const name = projectNames.get(projectId)!;

    const one = await costOf('get_record', {
      table_id: 'Tasks',
      record_id: withProject!.id,
      expand_links: true,
    });
    expect(one.structured.linked?.[projectId]).toBe(name);
    expect(shows(one.text, projectId, name)).toBe(true);

    const title = String(withProject!.fields.Title);
    const found = await call('search_records', { table_id: 'Tasks', query: title, expand_links: true });
    expect(found.structured.records.map((r) => r.id)).toContain(withProject!.id);
    expect(found.structured.linked?.[projectId]).toBe(name);
  });

  it('stays under the rate limiter: concurrent expanded reads never see a 429', async () => {
    const limitedBefore = sandbox.stats().totals.rateLimited;
    const calls = Array.from({ length: 8 }, () =>
      call('get_records', { table_id: 'Tasks', max_records: 20, fields: ['Project'], expand_links: true }),
    );
    const results = await Promise.all(calls);
    for (const r of results) expect(Object.keys(r.structured.linked ?? {}).length).toBeGreaterThan(1);
    expect(sandbox.stats().totals.rateLimited - limitedBefore).toBe(0);
    expect([...(results[0]!.text.match(LINK) ?? [])].length).toBeGreaterThan(0);
  });
});
