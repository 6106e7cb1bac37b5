/**
 * The orchestrator's /api routes through the real root: the /api router
 * (authentication, scopes, zod validation, problem+json), the real tool
 * runtime over the built-in sandbox, SQLite in a temp dir. Chat as JSON
 * and as server-sent events, approvals, sessions and history, tools and
 * execute-tool, models and budgets, GDPR through the platform's registry,
 * and the problems (401, 403, 503 without a key, 429 over budget, 400).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthFailure } from '../src/app/auth.js';
import { defineModule } from '../src/app/module.js';
import type { Principal } from '../src/app/principal.js';
import orchestratorModule from '../src/orchestrator/index.js';
import { generateApiKey } from '../src/store/api-keys.js';
import { type AppServer, startAppServer } from './helpers/app-server.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';
import { testDatabases } from './helpers/postgres.js';
import { requireService } from './helpers/services.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loosely shaped JSON in these tests
type Json = any;

const KEY = 'http-test-key';
const SERVER_KEY = generateApiKey();
const DEMO_BASE = 'appSandboxDemo001';

/** Bearer tokens of a test-only auth strategy, one per principal. */
const ADMIN = 'tok_admin';
const ALICE = 'tok_alice';
const BOB = 'tok_bob';
const READER = 'tok_reader';
const NO_CHAT = 'tok_nochat';
const DEMO_ONLY = 'tok_demo';

const PRINCIPALS: Record<string, Principal> = {
  [ADMIN]: {
    kind: 'user',
    id: 'usr_admin',
    userId: 'usr_admin',
    role: 'admin',
    scopes: ['tools:write', 'chat', 'admin'],
    bases: '*',
  },
  [ALICE]: {
    kind: 'user',
    id: 'usr_alice',
    userId: 'usr_alice',
    role: 'member',
    scopes: ['tools:write', 'chat'],
    bases: '*',
  },
  [BOB]: {
    kind: 'user',
    id: 'usr_bob',
    userId: 'usr_bob',
    role: 'member',
    scopes: ['tools:write', 'chat'],
    bases: '*',
  },
  [READER]: {
    kind: 'personal_key',
    id: 'key_reader',
    userId: 'usr_alice',
    scopes: ['tools:read', 'chat'],
    bases: '*',
  },
  [NO_CHAT]: {
    kind: 'personal_key',
    id: 'key_nochat',
    userId: 'usr_alice',
    scopes: ['tools:read'],
    bases: '*',
  },
  [DEMO_ONLY]: {
    kind: 'user',
    id: 'usr_demo',
    userId: 'usr_demo',
    role: 'member',
    scopes: ['tools:write', 'chat'],
    bases: ['appSomeOtherBase1'],
  },
};

/** Stands in for the platform's sign-in: principals from fixed tokens. */
const testAuth = defineModule({
  name: 'test-auth',
  summary: 'Fixed bearer tokens for the orchestrator’s HTTP tests',
  create: () => ({
    authStrategies: [
      {
        name: 'test_tokens',
        async authenticate({ credential }) {
          if (!credential?.startsWith('tok_')) return undefined;
          const principal = PRINCIPALS[credential];
          if (!principal) throw new AuthFailure('This token is not valid');
          return principal;
        },
      },
    ],
  }),
});

let gemini: FakeGemini;
let server: AppServer;
let noKey: AppServer;

function env(extra: Record<string, string> = {}) {
  return {
    GEMINI_BASE_URL: gemini.url,
    GEMINI_MAX_RETRIES: '0',
    CHAT_MAX_STEPS: '6',
    AIRTABLE_BASE: DEMO_BASE,
    SANDBOX_RATE_LIMIT: '0',
    // A server key turns authentication on (loopback without one runs open).
    API_KEY: SERVER_KEY,
    ...extra,
  };
}

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  server = await startAppServer({
    modules: [orchestratorModule, testAuth],
    env: env({ GEMINI_API_KEY: KEY }),
  });
  noKey = await startAppServer({ modules: [orchestratorModule, testAuth], env: env() });
});

afterAll(async () => {
  await server?.close();
  await noKey?.close();
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  server.handle.app.target.sandbox!.reset();
});

async function call(method: string, path: string, token: string | undefined, body?: unknown, headers = {}) {
  const response = await server.fetch(`/api${path}`, {
    method,
    token,
    headers,
    ...(body !== undefined ? { json: body } : {}),
  });
  const type = response.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  return { status: response.status, type, body: payload as Json, headers: response.headers };
}

/** Server-sent events as [event, data] pairs. */
function parseSse(text: string): [string, Json][] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      return [eventLine!.slice('event: '.length), JSON.parse(dataLine!.slice('data: '.length))];
    });
}

describe('the routes on the real /api router', () => {
  it('are in the OpenAPI document, need a credential and the chat scope', async () => {
    const doc = (await (await server.fetch('/api/openapi.json')).json()) as Json;
    for (const path of [
      '/chat',
      '/sessions/{id}/history',
      '/sessions/{id}/approvals',
      '/execute-tool',
      '/models',
      '/budgets/{scope}/{id}',
    ]) {
      // Server-relative under the document's /api server.
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const anonymous = await call('POST', '/chat', undefined, { message: 'hi' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toContain('application/problem+json');
    const bad = await call('POST', '/chat', 'tok_nobody', { message: 'hi' });
    expect(bad.status).toBe(401);
    const noChat = await call('POST', '/chat', NO_CHAT, { message: 'hi' });
    expect(noChat.status).toBe(403);
    expect(noChat.body.detail).toContain('chat');
    const invalid = await call('POST', '/chat', ALICE, {
      message: 'hi',
      base_id: 'nope',
      thinking_budget: 'lots',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: Json) => e.field).sort()).toEqual(['base_id', 'thinking_budget']);
    expect(gemini.requests).toHaveLength(0);
  });

  it('a base the user may not use is refused before Gemini is called', async () => {
    const refused = await call('POST', '/chat', DEMO_ONLY, { message: 'hi', base_id: DEMO_BASE });
    expect(refused.status).toBe(403);
    expect(refused.type).toContain('application/problem+json');
    expect(refused.body.detail).toContain(DEMO_BASE);
    expect(gemini.requests).toHaveLength(0);
  });
});

describe('POST /api/chat', () => {
  it('answers JSON with the documented shape', async () => {
    gemini.enqueue(
      callTools({ name: 'list_tables', args: {}, id: 't1', signature: 's1' }),
      say('Three tables.'),
    );
    const { status, body } = await call('POST', '/chat', ALICE, {
      message: 'What tables are there?',
      base_id: DEMO_BASE,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'done',
      response: 'Three tables.',
      tools_used: ['list_tables'],
      tool_calls: [{ id: 't1', name: 'list_tables', arguments: {}, ok: true }],
      model: 'gemini-3.8-flash',
      cost: { estimate: true, currency: 'USD', priced: true },
    });
    expect(body.session_id).toMatch(/^chat_/);
    expect(body.usage.hops).toBe(2);
    expect(typeof body.tool_calls[0].duration_ms).toBe('number');
    expect(Date.parse(body.timestamp)).not.toBeNaN();
  });

  it('streams server-sent events with the same final body (stream: true or Accept)', async () => {
    gemini.enqueue(callTools({ name: 'list_bases', args: {} }), say('You have three bases.'));
    const response = await server.fetch('/api/chat', {
      method: 'POST',
      token: ALICE,
      headers: { accept: 'text/event-stream' },
      json: { message: 'bases?' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await response.text());
    const types = events.map(([type]) => type);
    expect(types[0]).toBe('session');
    expect(types).toContain('tool_call');
    expect(types).toContain('tool_result');
    expect(types).toContain('usage');
    expect(types.filter((t) => t === 'text').length).toBeGreaterThan(1);
    expect(types.at(-1)).toBe('done');
    const final = events.at(-1)![1];
    expect(final).toMatchObject({
      status: 'done',
      response: 'You have three bases.',
      tools_used: ['list_bases'],
    });
    expect(gemini.requests.every((r) => r.stream)).toBe(true);
  });

  it('accepts the original gateway’s messages form and 400s without a user message', async () => {
    gemini.enqueue(say('Hello again.'));
    const ok = await call('POST', '/chat', ALICE, {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Hi again' },
      ],
    });
    expect(ok.status).toBe(200);
    expect(gemini.requests[0]!.body.contents.map((c) => c.parts[0]!.text)).toEqual([
      'Hi',
      'Hello!',
      'Hi again',
    ]);
    const bad = await call('POST', '/chat', ALICE, { messages: [{ role: 'assistant', content: 'x' }] });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect(bad.body.errors[0].field).toBe('message');
  });

  it('answers 503 with how to set the key when there is none', async () => {
    const response = await noKey.fetch('/api/chat', {
      method: 'POST',
      token: ALICE,
      headers: { accept: 'text/event-stream' },
      json: { message: 'hi' },
    });
    expect(response.status).toBe(503);
    const problem = (await response.json()) as { detail: string };
    expect(problem.detail).toContain('GEMINI_API_KEY');
    expect(gemini.requests).toHaveLength(0);
  });
});

describe('a client that goes away', () => {
  it('cancels the turn; the session is free for the next message', async () => {
    gemini.enqueue(say('first'));
    const first = await call('POST', '/chat', ALICE, { message: 'start' });
    const sessionId = first.body.session_id;
    gemini.enqueue(say('too slow', { delayMs: 3_000 }));
    const controller = new AbortController();
    const response = await server.fetch('/api/chat', {
      method: 'POST',
      token: ALICE,
      headers: { accept: 'text/event-stream' },
      json: { message: 'slow one', session_id: sessionId },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('event: session');
    // Wait until the model call is under way, then hang up.
    for (let i = 0; i < 50 && gemini.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await reader.cancel().catch(() => undefined);
    gemini.enqueue(say('here again'));
    let next = await call('POST', '/chat', ALICE, { message: 'are you there?', session_id: sessionId });
    for (let i = 0; i < 20 && next.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 50));
      next = await call('POST', '/chat', ALICE, { message: 'are you there?', session_id: sessionId });
    }
    expect(next.status).toBe(200);
    expect(next.body.response).toBe('here again');
    // The cancelled message and the new one reach the model as one user turn.
    const sent = gemini.requests.at(-1)!.body.contents;
    expect(sent.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(sent[2]!.parts.map((p) => p.text)).toEqual(['slow one', 'are you there?']);
    const history = await call('GET', `/sessions/${sessionId}/history`, ALICE);
    expect(history.body.history.filter((h: Json) => h.role === 'user').map((h: Json) => h.message)).toEqual([
      'start',
      'slow one',
      'are you there?',
    ]);
  });
});

describe('approvals over HTTP', () => {
  it('pauses with pending calls, then continues when approved (SSE)', async () => {
    gemini.enqueue(
      callTools({
        name: 'create_record',
        args: { table_id: 'Tasks', fields: { Title: 'From HTTP' } },
        id: 'w1',
      }),
      say('Added it.'),
    );
    const paused = await call('POST', '/chat', ALICE, { message: 'Add "From HTTP"' });
    expect(paused.body.status).toBe('approval_required');
    expect(paused.body.pending).toEqual([
      expect.objectContaining({ call_id: 'w1', tool: 'create_record', kind: 'write' }),
    ]);
    const sessionId = paused.body.session_id;
    const other = await call('POST', `/sessions/${sessionId}/approvals`, BOB, {
      call_id: 'w1',
      approve: true,
    });
    expect(other.status).toBe(404);
    const unknown = await call('POST', `/sessions/${sessionId}/approvals`, ALICE, {
      call_id: 'nope',
      approve: true,
    });
    expect(unknown.status).toBe(404);

    const response = await server.fetch(`/api/sessions/${sessionId}/approvals`, {
      method: 'POST',
      token: ALICE,
      json: { call_id: 'w1', approve: true, stream: true },
    });
    const events = parseSse(await response.text());
    expect(events.map(([t]) => t)).toContain('tool_result');
    expect(events.at(-1)![1]).toMatchObject({ status: 'done', response: 'Added it.' });
    const again = await call('POST', `/sessions/${sessionId}/approvals`, ALICE, {
      call_id: 'w1',
      approve: true,
    });
    expect(again.status).toBe(409);
  });
});

describe('sessions', () => {
  it('lists, shows history (raw with signatures) and deletes, only for the owner', async () => {
    gemini.enqueue(say('One.', { signature: 'sig-h' }));
    const chat = await call('POST', '/chat', ALICE, { message: 'first' });
    const id = chat.body.session_id;
    const list = await call('GET', '/sessions', ALICE);
    expect(list.body.sessions.map((s: Json) => s.session_id)).toContain(id);
    expect((await call('GET', '/sessions', BOB)).body.sessions.map((s: Json) => s.session_id)).not.toContain(
      id,
    );
    const history = await call('GET', `/sessions/${id}/history?raw=true`, ALICE);
    expect(history.body.history.map((h: Json) => [h.role, h.message])).toEqual([
      ['user', 'first'],
      ['assistant', 'One.'],
    ]);
    expect(history.body.history[1]).toMatchObject({ model_used: 'gemini-3.8-flash', tools_used: [] });
    expect(history.body.contents.at(-1).parts[0].thoughtSignature).toBe('sig-h');
    expect((await call('GET', `/sessions/${id}/history`, BOB)).status).toBe(404);
    expect((await call('DELETE', `/sessions/${id}`, BOB)).status).toBe(404);
    const deleted = await call('DELETE', `/sessions/${id}`, ALICE);
    expect(deleted.body.message).toBe(`Session ${id} cleared`);
    expect((await call('GET', `/sessions/${id}/history`, ALICE)).status).toBe(404);
  });
});

describe('tools, models and budgets', () => {
  it('a read-only key cannot write through chat: the writing tools are not offered, and a call is denied', async () => {
    gemini.enqueue(
      callTools({
        name: 'create_record',
        args: { table_id: 'Tasks', fields: { Title: 'Sneaky' } },
        id: 'w9',
      }),
      say('I cannot add records with this key.'),
    );
    const { status, body } = await call('POST', '/chat', READER, { message: 'Add "Sneaky"' });
    expect(status).toBe(200);
    expect(body.status).toBe('done');
    expect(body.pending).toBeUndefined();
    expect(body.tool_calls).toEqual([expect.objectContaining({ name: 'create_record', ok: false })]);
    const offered = gemini.requests[0]!.body.tools![0]!.functionDeclarations!.map((d) => d.name);
    expect(offered).toContain('search_records');
    expect(offered).not.toContain('create_record');
    const told = gemini.requests[1]!.body.contents.at(-1)!.parts[0]!.functionResponse as Json;
    expect(JSON.stringify(told.response)).toMatch(/read-only|not allowed|permission|scope/i);
    const search = await call('POST', '/execute-tool', ALICE, {
      tool_name: 'search_records',
      arguments: { table_id: 'Tasks', query: 'Sneaky' },
    });
    expect(search.body.result.count).toBe(0);
  });

  it('lists tools and executes one with the caller’s permissions', async () => {
    const reader = READER;
    const tools = await call('GET', '/tools', reader);
    const names = tools.body.tools.map((t: Json) => t.name);
    expect(names).toContain('get_records');
    expect(names).not.toContain('create_record');
    expect(tools.body.tools[0].input_schema.type).toBe('object');
    const run = await call('POST', '/execute-tool', reader, { tool_name: 'list_tables', arguments: {} });
    expect(run.body).toMatchObject({ tool: 'list_tables', is_error: false });
    expect(run.body.result.tables.length).toBeGreaterThan(0);
    const write = await call('POST', '/execute-tool', reader, {
      tool_name: 'create_record',
      arguments: { table_id: 'Tasks', fields: { Title: 'no' } },
    });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ status: 403, is_error: true, outcome: 'denied' });
    expect(write.body.detail).toMatch(/tools:write|read-only|write/i);
    expect((await call('POST', '/execute-tool', reader, { tool_name: 'nope' })).status).toBe(404);
  });

  it('lists models with prices marked as estimates and thinking options', async () => {
    const { body } = await call('GET', '/models', undefined);
    expect(body.default_model).toBe('gemini-3.8-flash');
    const flash = body.models.find((m: Json) => m.id === 'gemini-3.8-flash');
    expect(flash).toMatchObject({
      default: true,
      thinking: { kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'] },
      prices: { input_per_mtok: 0.75, output_per_mtok: 3.75, estimate: true },
    });
    expect(body.models.find((m: Json) => m.id === 'gemini-2.5-flash-lite').thinking.kind).toBe('budget');
  });

  it('sets budgets and refuses an over-budget turn with 429 before Gemini is called', async () => {
    gemini.enqueue(say('pricey', { usage: { promptTokenCount: 400_000, candidatesTokenCount: 1_000 } }));
    const first = await call('POST', '/chat', BOB, { message: 'costly question' });
    const id = first.body.session_id;
    expect((await call('PUT', '/budgets/user/usr_bob', BOB, { limit_usd: 1 })).status).toBe(403);
    const put = await call('PUT', `/budgets/session/${id}`, BOB, { budget_limit: 0.2, alert_threshold: 0.5 });
    expect(put.body).toMatchObject({ scope: 'session', subject_id: id, limit_usd: 0.2, period: 'session' });
    expect(put.body.spent_usd).toBeGreaterThan(0.2);
    const before = gemini.requests.length;
    const refused = await call('POST', '/chat', BOB, { message: 'more', session_id: id });
    expect(refused.status).toBe(429);
    expect(refused.type).toContain('application/problem+json');
    expect(refused.body.detail).toContain('session budget');
    expect(refused.body.budget.limit_usd).toBe(0.2);
    expect(gemini.requests.length).toBe(before);
    const admin = await call('PUT', '/budgets/user/usr_bob', ADMIN, { limit_usd: 5, period: 'daily' });
    expect(admin.body).toMatchObject({ scope: 'user', period: 'daily', alert_threshold: 0.8 });
    expect(admin.body.resets_at).toMatch(/T00:00:00.000Z$/);
    const mine = await call('GET', '/budgets', BOB);
    expect(mine.body.budgets.map((b: Json) => b.scope).sort()).toEqual(['session', 'user']);
    expect((await call('GET', '/budgets/user/me', BOB)).body.limit_usd).toBe(5);
    expect((await call('DELETE', `/budgets/session/${id}`, BOB)).status).toBe(200);
    expect((await call('PUT', '/budgets/session/x', BOB, { limit_usd: -1 })).status).toBe(400);
  });

  it('exports and erases a user’s chats (GDPR)', async () => {
    gemini.enqueue(
      say('kept', { usage: { promptTokenCount: 1_000, candidatesTokenCount: 200, thoughtsTokenCount: 50 } }),
    );
    const chat = await call('POST', '/chat', ALICE, { message: 'remember me' });
    const { gdpr, usage } = server.handle.app;
    await usage.flush();
    const exported = (await gdpr.exportUser('usr_alice')) as Json;
    const chats = exported.orchestrator as { sessions: { turns: { message: string }[] }[] };
    expect(chats.sessions.flatMap((s) => s.turns.map((t) => t.message))).toContain('remember me');
    // The turn's usage record (for analytics) carries tokens, the estimated cost and the model.
    const record = (exported.core.usage_records as Json[]).find(
      (r) => r.kind === 'chat' && r.session_id === chat.body.session_id,
    );
    expect(record).toMatchObject({
      name: 'gemini-3.8-flash',
      model: 'gemini-3.8-flash',
      outcome: 'ok',
      input_tokens: 1_000,
      output_tokens: 250,
    });
    // 1000 in at $0.75/M, 200 out + 50 thinking at $3.75/M.
    expect(record.cost_usd).toBeCloseTo(0.00075 + 0.0009375, 9);
    await gdpr.eraseUser('usr_alice');
    await gdpr.eraseUser('usr_alice');
    expect(((await gdpr.exportUser('usr_alice')) as Json).orchestrator.sessions).toEqual([]);
    expect((await call('GET', '/sessions', ALICE)).body.sessions).toEqual([]);
  });
});

const pgUp = await requireService(
  'PostgreSQL',
  async () => {
    const databases = testDatabases();
    await databases.create('amk_chat_probe');
    await databases.dropAll();
  },
  '127.0.0.1:5432',
);

describe.skipIf(!pgUp)('on PostgreSQL (DATABASE_URL)', () => {
  const databases = testDatabases();
  let pgServer: AppServer;
  beforeAll(async () => {
    pgServer = await startAppServer({
      modules: [orchestratorModule, testAuth],
      env: env({ GEMINI_API_KEY: KEY, DATABASE_URL: await databases.create('amk_chat_http') }),
    });
  });
  afterAll(async () => {
    await pgServer?.close();
    await databases.dropAll();
  });

  it('migrates the chat tables with the root’s migrator and keeps sessions there', async () => {
    const status = await pgServer.handle.store.migrationStatus();
    expect(status.map((m) => [m.name, Boolean(m.appliedAt)])).toContainEqual(['orchestrator/001_chat', true]);
    gemini.enqueue(
      callTools({ name: 'list_tables', args: {}, id: 'p1', signature: 'sig-pg' }),
      say('Three.'),
    );
    const chat = await pgServer.fetch('/api/chat', {
      method: 'POST',
      token: ALICE,
      json: { message: 'tables?' },
    });
    expect(chat.status).toBe(200);
    const body = (await chat.json()) as Json;
    expect(body).toMatchObject({ status: 'done', response: 'Three.', tools_used: ['list_tables'] });
    const history = (await (
      await pgServer.fetch(`/api/sessions/${body.session_id}/history?raw=true`, { token: ALICE })
    ).json()) as Json;
    expect(history.history.map((h: Json) => h.message)).toEqual(['tables?', 'Three.']);
    expect(history.contents[1].parts[0].thoughtSignature).toBe('sig-pg');
    const sessions = (await (await pgServer.fetch('/api/sessions', { token: ALICE })).json()) as Json;
    expect(sessions.sessions[0]).toMatchObject({ session_id: body.session_id, turns: 1 });
  });
});
