/**
 * The orchestrator's /api routes over real HTTP: chat as JSON and as
 * server-sent events, approvals, sessions and history, tools and
 * execute-tool, models and budgets, and the problems (503 without a key,
 * 429 over budget, 400 field errors). The routes run on a stand-in for the
 * root's router (test/helpers/fake-gemini-api.ts) until the root is wired.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../src/app/principal.js';
import { silentLogger } from '../src/logger.js';
import { DEFAULT_PRICES } from '../src/orchestrator/models.js';
import { Orchestrator } from '../src/orchestrator/orchestrator.js';
import { ChatRepository } from '../src/orchestrator/repository.js';
import { registerRoutes } from '../src/orchestrator/routes.js';
import { exportUser } from '../src/orchestrator/service.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';
import { principalHeader, startTestApi, type TestApi } from './helpers/fake-gemini-api.js';
import { DEMO_BASE, openChatDb, startTestRuntime, type TestRuntime } from './helpers/fake-gemini-runtime.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loosely shaped JSON in these tests
type Json = any;

const KEY = 'http-test-key';
const ADMIN: Principal = {
  kind: 'server_key',
  id: 'key_admin',
  scopes: ['tools:read', 'tools:write', 'chat', 'admin'],
  bases: '*',
};
const ALICE: Principal = {
  kind: 'user',
  id: 'usr_alice',
  userId: 'usr_alice',
  role: 'member',
  scopes: ['tools:read', 'tools:write', 'chat'],
  bases: '*',
};
const BOB: Principal = { ...ALICE, id: 'usr_bob', userId: 'usr_bob' };

let gemini: FakeGemini;
let rt: TestRuntime;
let db: Kysely<unknown>;
let api: TestApi;
let noKeyApi: TestApi;

function build(apiKey: string | undefined) {
  return new Orchestrator({
    repo: new ChatRepository(db),
    tools: rt.runtime,
    usage: rt.usage,
    logger: silentLogger(),
    settings: {
      model: 'gemini-3.8-flash',
      maxSteps: 6,
      writePolicy: 'ask',
      turnTimeoutMs: 20_000,
      contextTokens: 200_000,
      maxOutputTokens: 2048,
    },
    gemini: { apiKey, baseUrl: gemini.url, apiVersion: 'v1beta', requestTimeoutMs: 5_000, maxRetries: 1 },
    prices: DEFAULT_PRICES,
    defaultBase: DEMO_BASE,
  });
}

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  rt = await startTestRuntime();
  db = await openChatDb();
  api = await startTestApi((routes) => registerRoutes(routes, build(KEY), rt.runtime));
  noKeyApi = await startTestApi((routes) => registerRoutes(routes, build(undefined), rt.runtime));
});

afterAll(async () => {
  await api?.close();
  await noKeyApi?.close();
  await db?.destroy();
  await rt?.close();
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  rt.sandbox.reset();
});

async function call(
  method: string,
  path: string,
  principal: Principal | undefined,
  body?: unknown,
  headers = {},
) {
  const response = await fetch(`${api.url}/api${path}`, {
    method,
    headers: {
      ...(principal ? principalHeader(principal) : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
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
    const response = await fetch(`${api.url}/api/chat`, {
      method: 'POST',
      headers: { ...principalHeader(ALICE), 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'bases?' }),
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
    const response = await fetch(`${noKeyApi.url}/api/chat`, {
      method: 'POST',
      headers: { ...principalHeader(ALICE), 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'hi' }),
    });
    expect(response.status).toBe(503);
    const problem = (await response.json()) as { detail: string };
    expect(problem.detail).toContain('GEMINI_API_KEY');
    expect(gemini.requests).toHaveLength(0);
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

    const response = await fetch(`${api.url}/api/sessions/${sessionId}/approvals`, {
      method: 'POST',
      headers: { ...principalHeader(ALICE), 'content-type': 'application/json' },
      body: JSON.stringify({ call_id: 'w1', approve: true, stream: true }),
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
  it('lists tools and executes one with the caller’s permissions', async () => {
    const reader: Principal = { ...ALICE, scopes: ['tools:read', 'chat'] };
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
    expect(write.body).toMatchObject({ is_error: true, outcome: 'denied' });
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
    gemini.enqueue(say('kept'));
    await call('POST', '/chat', ALICE, { message: 'remember me' });
    const repo = new ChatRepository(db);
    const exported = (await exportUser(repo, 'usr_alice')) as {
      sessions: { turns: { message: string }[] }[];
    };
    expect(exported.sessions.flatMap((s) => s.turns.map((t) => t.message))).toContain('remember me');
    await repo.eraseUser('usr_alice');
    await repo.eraseUser('usr_alice');
    expect(((await exportUser(repo, 'usr_alice')) as { sessions: unknown[] }).sessions).toEqual([]);
    expect((await call('GET', '/sessions', ALICE)).body.sessions).toEqual([]);
  });
});
