/**
 * The module seam, through public surfaces only: a module defined here (not
 * in src/) adds a migration, /api routes, an auth strategy, a tool and GDPR
 * hooks, and a real server runs it on SQLite and PostgreSQL. Also the /api
 * conventions every module gets: problem+json errors, zod validation with
 * field errors, per-route auth and scopes, OpenAPI 3.1 and its rendering.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpProblem, problems } from '../src/app/api.js';
import { AuthFailure } from '../src/app/auth.js';
import { defineModule, type ModuleContext } from '../src/app/module.js';
import { MODULES } from '../src/app/modules.js';
import { defineSection, option, readSection } from '../src/app/options.js';
import type { Principal } from '../src/app/principal.js';
import { generateApiKey } from '../src/store/api-keys.js';
import { defineTool } from '../src/tools/define.js';
import { type AppServer, startAppServer } from './helpers/app-server.js';
import { testDatabases } from './helpers/postgres.js';

const DEMO_BASE = 'appSandboxDemo001';
const SERVER_KEY = generateApiKey();

interface NotesTables {
  notes_items: { id: string; user_id: string; text: string };
}

const notesSection = defineSection('notes', 'Notes (a test module)', {
  greeting: option({ schema: z.string().default('hello'), env: 'NOTES_GREETING', help: 'Greeting' }),
});

/** Users of the test module's own strategy: 'tok_<name>' bearer tokens. */
const USERS: Record<string, Principal> = {
  tok_alice: {
    kind: 'user',
    id: 'usr_alice',
    userId: 'usr_alice',
    scopes: ['tools:write', 'chat'],
    bases: [DEMO_BASE],
  },
  tok_reader: { kind: 'user', id: 'usr_reader', userId: 'usr_reader', scopes: ['tools:read'], bases: '*' },
};

let created: ModuleContext | undefined;

const notesModule = defineModule({
  name: 'notes',
  summary: 'A module written in a test',
  options: notesSection.options,
  migrations: () => ({
    '001_items': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('notes_items')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('text', 'text', (c) => c.notNull())
          .execute();
      },
    },
  }),
  create(ctx) {
    created = ctx;
    const db = ctx.store.db as Kysely<NotesTables>;
    const greeting = readSection(ctx.config, notesSection).greeting;
    const addNote = defineTool({
      name: 'add_note',
      title: 'Add a note',
      description: 'Keep a short note for the signed-in user.',
      toolset: 'notes',
      kind: 'write',
      input: { text: z.string().min(1).max(200) },
      output: { id: z.string() },
      async run(args, toolCtx) {
        const id = `note_${Math.random().toString(36).slice(2, 10)}`;
        await db
          .insertInto('notes_items')
          .values({ id, user_id: toolCtx.principal?.userId ?? 'anonymous', text: args.text })
          .execute();
        return { structured: { id }, text: `Saved note ${id}` };
      },
    });
    return {
      toolsets: { notes: 'Notes kept by the test module' },
      tools: [addNote],
      authStrategies: [
        {
          name: 'notes_tokens',
          async authenticate({ credential }) {
            if (!credential?.startsWith('tok_')) return undefined;
            if (credential === 'tok_disabled') throw new AuthFailure('This account is disabled', 403);
            const user = USERS[credential];
            if (!user) throw new AuthFailure('This token is not valid (expired or revoked)');
            return user;
          },
        },
      ],
      routes(api) {
        api.route({
          method: 'get',
          path: '/notes/greeting',
          summary: 'A greeting from the config section',
          auth: 'none',
          response: z.object({ greeting: z.string() }),
          handler: () => ({ greeting }),
        });
        api.route({
          method: 'post',
          path: '/notes',
          summary: 'Add a note',
          scopes: ['chat'],
          body: z.object({ text: z.string().min(1).max(200), pinned: z.boolean().optional() }),
          response: z.object({ id: z.string(), text: z.string() }),
          successStatus: 201,
          async handler({ body, principal }) {
            const id = `note_${Math.random().toString(36).slice(2, 10)}`;
            await db
              .insertInto('notes_items')
              .values({ id, user_id: principal.userId ?? principal.id, text: body.text })
              .execute();
            return { id, text: body.text };
          },
        });
        // Fixed paths before the parameterised one (Express matches in order).
        api.route({
          method: 'get',
          path: '/notes/boom',
          summary: 'Fails on purpose',
          auth: 'optional',
          handler() {
            throw new Error('secret internals: password=hunter2');
          },
        });
        api.route({
          method: 'get',
          path: '/notes/teapot',
          summary: 'A custom problem',
          auth: 'optional',
          handler() {
            throw new HttpProblem(418, "I'm a teapot", 'Short and stout', {
              type: 'https://example.com/teapot',
              members: { spout: true },
            });
          },
        });
        api.route({
          method: 'get',
          path: '/notes/:id',
          summary: 'One note',
          params: z.object({ id: z.string().regex(/^note_\w+$/) }),
          query: z.object({ upper: z.enum(['true', 'false']).optional() }),
          errors: [404],
          async handler({ params, query, principal }) {
            const row = await db
              .selectFrom('notes_items')
              .selectAll()
              .where('id', '=', params.id)
              .executeTakeFirst();
            if (!row || row.user_id !== (principal.userId ?? principal.id)) {
              throw problems.notFound(`No note ${params.id}`);
            }
            return { id: row.id, text: query.upper === 'true' ? row.text.toUpperCase() : row.text };
          },
        });
      },
      gdpr: {
        async export(userId) {
          return {
            notes: await db.selectFrom('notes_items').selectAll().where('user_id', '=', userId).execute(),
          };
        },
        async erase(userId) {
          await db.deleteFrom('notes_items').where('user_id', '=', userId).execute();
        },
      },
    };
  },
});

async function mcpClient(server: AppServer, token: string): Promise<Client> {
  const client = new Client({ name: 'seam-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

const databases = testDatabases();
afterAll(() => databases.dropAll());

describe.each([
  ['sqlite', async () => ({})],
  ['postgres', async () => ({ DATABASE_URL: await databases.create('amk_seam') })],
])('a module registered from a test (%s)', (_dialect, storeEnv) => {
  let server: AppServer;
  beforeAll(async () => {
    server = await startAppServer({
      modules: [notesModule],
      env: { ...(await storeEnv()), API_KEY: SERVER_KEY, NOTES_GREETING: 'hi there' },
    });
  });
  afterAll(() => server?.close());

  it('runs its migration, named per module, and reads its config section', async () => {
    const status = await server.handle.store.migrationStatus();
    expect(status.map((m) => [m.name, Boolean(m.appliedAt)])).toContainEqual(['notes/001_items', true]);
    const res = await server.fetch('/api/notes/greeting');
    expect(res.status).toBe(200);
    // A route without authentication ignores a refused credential rather than answering 401.
    const stale = await server.fetch('/api/notes/greeting', { token: 'tok_nobody' });
    expect(stale.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: 'hi there' });
  });

  it('serves its routes after authentication, with the principal its strategy made', async () => {
    const created = await server.fetch('/api/notes', {
      method: 'POST',
      token: 'tok_alice',
      json: { text: 'hi' },
    });
    expect(created.status).toBe(201);
    const note = (await created.json()) as { id: string };
    const read = await server.fetch(`/api/notes/${note.id}?upper=true`, { token: 'tok_alice' });
    expect(await read.json()).toEqual({ id: note.id, text: 'HI' });
    // Another principal (the server key) does not see alice's note.
    const other = await server.fetch(`/api/notes/${note.id}`, { token: SERVER_KEY });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await other.json()).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404 });
  });

  it('answers auth problems as problem+json: 401 without or with a bad credential, 403 for scopes and disabled', async () => {
    const missing = await server.fetch('/api/notes', { method: 'POST', json: { text: 'x' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(await missing.json()).toMatchObject({
      status: 401,
      title: 'Unauthorized',
      detail: expect.any(String),
    });
    const bad = await server.fetch('/api/notes', {
      method: 'POST',
      json: { text: 'x' },
      token: 'tok_nobody',
    });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/not valid/);
    const disabled = await server.fetch('/api/notes', {
      method: 'POST',
      json: { text: 'x' },
      token: 'tok_disabled',
    });
    expect(disabled.status).toBe(403);
    const noScope = await server.fetch('/api/notes', {
      method: 'POST',
      json: { text: 'x' },
      token: 'tok_reader',
    });
    expect(noScope.status).toBe(403);
    expect(((await noScope.json()) as { detail: string }).detail).toMatch(/chat scope/);
  });

  it('validates input with the route schemas: 400 with field errors', async () => {
    const res = await server.fetch('/api/notes', {
      method: 'POST',
      token: 'tok_alice',
      json: { text: '', pinned: 'yes' },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(body.errors.map((e) => e.field).sort()).toEqual(['pinned', 'text']);
    const param = await server.fetch('/api/notes/not-an-id', { token: 'tok_alice' });
    expect(param.status).toBe(400);
    expect(((await param.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('params.id');
    const query = await server.fetch('/api/notes/note_x?upper=maybe', { token: 'tok_alice' });
    expect(((await query.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('query.upper');
    const notJson = await server.fetch('/api/notes', {
      method: 'POST',
      token: 'tok_alice',
      headers: { 'content-type': 'application/json' },
      body: '{"text":',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { detail: string }).detail).toMatch(/not valid JSON/);
    const noBody = await server.fetch('/api/notes', { method: 'POST', token: 'tok_alice', body: 'text=hi' });
    expect(noBody.status).toBe(400);
  });

  it('hides internal errors and passes custom problems through', async () => {
    const boom = await server.fetch('/api/notes/boom');
    expect(boom.status).toBe(500);
    const body = await boom.text();
    expect(body).not.toMatch(/hunter2|secret internals|at /);
    expect(JSON.parse(body)).toMatchObject({ status: 500, title: 'Internal Server Error' });
    const teapot = await server.fetch('/api/notes/teapot');
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toMatchObject({ type: 'https://example.com/teapot', spout: true });
    const unknown = await server.fetch('/api/nothing-here', { token: SERVER_KEY });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('adds its tool to MCP, run with the caller’s scopes and bases', async () => {
    const alice = await mcpClient(server, 'tok_alice');
    try {
      const names = (await alice.listTools()).tools.map((t) => t.name);
      expect(names).toContain('add_note');
      expect(names).toContain('create_record');
      const added = (await alice.callTool({
        name: 'add_note',
        arguments: { text: 'from mcp' },
      })) as CallToolResult;
      expect(added.isError).toBeFalsy();
      const bases = (await alice.callTool({ name: 'list_bases', arguments: {} })) as CallToolResult;
      const listed = (bases.structuredContent as { bases: { id: string }[] }).bases.map((b) => b.id);
      expect(listed).toEqual([DEMO_BASE]);
      const denied = (await alice.callTool({
        name: 'list_tables',
        arguments: { base_id: 'appSandboxArchive' },
      })) as CallToolResult;
      expect(denied.isError).toBe(true);
      expect(text(denied)).toMatch(/no access to base appSandboxArchive/);
    } finally {
      await alice.close();
    }
    const reader = await mcpClient(server, 'tok_reader');
    try {
      const names = (await reader.listTools()).tools.map((t) => t.name);
      expect(names).toContain('get_records');
      expect(names).not.toContain('add_note');
      expect(names).not.toContain('create_record');
    } finally {
      await reader.close();
    }
  });

  it('runs tools in-process through the runtime, denying writes to a read-only principal', async () => {
    const runtime = created!.tools;
    const reader = USERS.tok_reader!;
    const write = await runtime.call('add_note', { text: 'x' }, { principal: reader, source: 'api' });
    expect(write).toMatchObject({ isError: true, outcome: 'denied' });
    expect(write.text).toMatch(/read-only/);
    const bad = await runtime.call('get_records', { table_id: 42 }, { principal: reader, source: 'api' });
    expect(bad).toMatchObject({ isError: true, outcome: 'invalid_input' });
    const read = await runtime.call(
      'get_records',
      { base_id: DEMO_BASE, table_id: 'Projects', max_records: 2 },
      { principal: reader, source: 'api' },
    );
    expect(read.isError).toBe(false);
    expect(read.airtableRequests).toBeGreaterThanOrEqual(1);
  });

  it('exports and erases a user across modules (its hooks and the core usage records)', async () => {
    await server.fetch('/api/notes', { method: 'POST', token: 'tok_alice', json: { text: 'mine' } });
    const exported = (await created!.gdpr.exportUser('usr_alice')) as {
      notes: { notes: { text: string }[] };
      core: { usage_records: { name: string; source: string }[] };
    };
    expect(exported.notes.notes.map((n) => n.text)).toContain('mine');
    expect(exported.core.usage_records.map((r) => r.name)).toContain('add_note');
    await created!.gdpr.eraseUser('usr_alice');
    const after = (await created!.gdpr.exportUser('usr_alice')) as typeof exported;
    expect(after.notes.notes).toEqual([]);
    expect(after.core.usage_records).toEqual([]);
  });
});

describe('the /api description', () => {
  let server: AppServer;
  beforeAll(async () => {
    server = await startAppServer({ modules: [notesModule] });
  });
  afterAll(() => server?.close());

  it('is a valid OpenAPI 3.1 document generated from the route schemas', async () => {
    const res = await server.fetch('/api/openapi.json');
    expect(res.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const document = (await res.json()) as Record<string, any>;
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    const post = document.paths['/notes'].post;
    expect(post.requestBody.content['application/json'].schema.properties.text).toMatchObject({
      type: 'string',
      minLength: 1,
    });
    expect(post.responses['201']).toBeDefined();
    expect(post.responses['400'].content['application/problem+json']).toBeDefined();
    expect(document.paths['/notes/{id}'].get.parameters).toContainEqual(
      expect.objectContaining({ name: 'id', in: 'path', required: true }),
    );
    expect(document.paths['/notes/greeting'].get.security).toEqual([]);
  });

  it('is rendered at /api/docs from npm assets, with no inline script', async () => {
    const redirect = await server.fetch('/api/docs', { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    const page = await server.fetch('/api/docs/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const bundle = await server.fetch('/api/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await server.fetch('/api/docs/package.json')).status).toBe(404);
  });

  it('serves everyone on a loopback server without keys, as before', async () => {
    const res = await server.fetch('/api/notes', { method: 'POST', json: { text: 'anon' } });
    expect(res.status).toBe(201);
  });

  it('stays a valid OpenAPI 3.1 document with every shipped module on, original paths included', async () => {
    const full = await startAppServer({ modules: MODULES, env: { API_KEY: SERVER_KEY } });
    try {
      // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
      const document = (await (await full.fetch('/api/openapi.json')).json()) as Record<string, any>;
      const result = await new Validator().validate(document);
      expect(result.errors ?? []).toEqual([]);
      for (const path of [
        '/auth/login',
        '/auth/me',
        '/gdpr/data-export',
        '/chat',
        '/execute-tool',
        '/workflows',
      ]) {
        expect(Object.keys(document.paths)).toContain(path);
      }
    } finally {
      await full.close();
    }
  });
});

describe('hosted MCP edge cases', () => {
  let server: AppServer;
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  };
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    server.fetch('/mcp', {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', ...headers },
      json: body,
    });
  beforeAll(async () => {
    server = await startAppServer({ env: { API_KEY: SERVER_KEY } });
  });
  afterAll(() => server?.close());

  it('tells a client that batched initialize to send it alone', async () => {
    const res = await post([initialize, { jsonrpc: '2.0', method: 'notifications/initialized' }], {
      'x-api-key': SERVER_KEY,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/initialize alone/);
    const plain = await post([{ jsonrpc: '2.0', id: 2, method: 'tools/list' }], { 'x-api-key': SERVER_KEY });
    expect(((await plain.json()) as { error: { message: string } }).error.message).toMatch(
      /initialize first/,
    );
  });

  it('protects /metrics when API keys are required', async () => {
    expect((await server.fetch('/metrics')).status).toBe(401);
    const ok = await server.fetch('/metrics', { token: SERVER_KEY });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/airtable_mcp_/);
  });

  it('opens /metrics with METRICS_PUBLIC', async () => {
    const open = await startAppServer({ env: { API_KEY: SERVER_KEY, METRICS_PUBLIC: 'true' } });
    try {
      expect((await open.fetch('/metrics')).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
