/**
 * The orchestrator's tool loop against a fake Gemini over real HTTP and the
 * real tools over a real sandbox: multi-step turns, parallel calls,
 * thought signatures echoed, approvals, budgets, permissions, retries,
 * blocked and truncated answers. No test calls Google.
 */
import { type Kysely, Migrator } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpProblem } from '../src/app/api.js';
import type { Principal } from '../src/app/principal.js';
import { silentLogger } from '../src/logger.js';
import type { EngineSettings } from '../src/orchestrator/engine.js';
import { orchestratorMigrations } from '../src/orchestrator/migrations.js';
import { DEFAULT_PRICES } from '../src/orchestrator/models.js';
import { Orchestrator } from '../src/orchestrator/orchestrator.js';
import { ChatRepository } from '../src/orchestrator/repository.js';
import type { ChatEvent } from '../src/orchestrator/types.js';
import { openSqliteDb } from '../src/store/sqlite.js';
import {
  callTools,
  type FakeGemini,
  fault,
  lastFunctionResponses,
  say,
  startFakeGemini,
} from './helpers/fake-gemini.js';
import {
  ARCHIVE_BASE,
  DEMO_BASE,
  startTestRuntime,
  type TestRuntime,
} from './helpers/fake-gemini-runtime.js';

const KEY = 'test-gemini-key';
const ADMIN: Principal = {
  kind: 'server_key',
  id: 'key_admin',
  scopes: ['tools:read', 'tools:write', 'chat', 'admin'],
  bases: '*',
};
const READER: Principal = {
  kind: 'personal_key',
  id: 'key_reader',
  userId: 'usr_reader',
  scopes: ['tools:read', 'chat'],
  bases: '*',
};
const DEMO_ONLY: Principal = {
  kind: 'user',
  id: 'usr_demo',
  userId: 'usr_demo',
  role: 'member',
  scopes: ['tools:read', 'tools:write', 'chat'],
  bases: [DEMO_BASE],
};

let gemini: FakeGemini;
let rt: TestRuntime;
let db: Kysely<unknown>;
let repo: ChatRepository;

const SETTINGS: EngineSettings = {
  model: 'gemini-3.8-flash',
  maxSteps: 6,
  writePolicy: 'ask',
  turnTimeoutMs: 20_000,
  contextTokens: 200_000,
  maxOutputTokens: 2048,
};

function orchestrator(
  overrides: Partial<EngineSettings> = {},
  extra: { apiKey?: string | null; apiVersion?: string } = {},
) {
  return new Orchestrator({
    repo,
    tools: rt.runtime,
    usage: rt.usage,
    logger: silentLogger(),
    settings: { ...SETTINGS, ...overrides },
    gemini: {
      apiKey: extra.apiKey === null ? undefined : (extra.apiKey ?? KEY),
      baseUrl: gemini.url,
      apiVersion: extra.apiVersion ?? 'v1beta',
      requestTimeoutMs: 5_000,
      maxRetries: 3,
    },
    prices: DEFAULT_PRICES,
    defaultBase: DEMO_BASE,
  });
}

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  rt = await startTestRuntime();
  db = (await openSqliteDb(':memory:')) as unknown as Kysely<unknown>;
  const migrations = orchestratorMigrations('sqlite');
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  if (error) throw error;
  repo = new ChatRepository(db);
});

afterAll(async () => {
  await db?.destroy();
  await rt?.close();
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  rt.usage.events.length = 0;
  rt.sandbox.reset();
});

async function collect(turn: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of turn) events.push(event);
  return events;
}

describe('a turn with tools', () => {
  it('calls tools over several steps, echoes thought signatures and answers', async () => {
    gemini.enqueue(
      callTools({ name: 'list_tables', args: { base_id: DEMO_BASE }, id: 'c1', signature: 'sig-step-1' }),
      callTools({
        name: 'get_records',
        args: { table_id: 'Projects', max_records: 2 },
        signature: 'sig-step-2',
      }),
      say('Two projects are late.', { signature: 'sig-final' }),
    );
    const result = await orchestrator().send({ principal: ADMIN, message: 'Which projects are late?' })
      .result;
    expect(result.status).toBe('done');
    expect(result.response).toBe('Two projects are late.');
    expect(result.tools_used).toEqual(['list_tables', 'get_records']);
    expect(result.tool_calls.map((c) => [c.name, c.ok])).toEqual([
      ['list_tables', true],
      ['get_records', true],
    ]);
    expect(result.usage.hops).toBe(3);
    expect(result.cost.estimate).toBe(true);
    expect(result.cost.priced).toBe(true);
    expect(result.cost.total_usd).toBeGreaterThan(0);

    expect(gemini.requests).toHaveLength(3);
    const [first, second, third] = gemini.requests;
    expect(first!.version).toBe('v1beta');
    expect(first!.model).toBe('gemini-3.8-flash');
    // Declarations are sanitised: no $schema, no propertyNames anywhere.
    const declarations = JSON.stringify(first!.body.tools);
    expect(declarations).toContain('"name":"get_records"');
    expect(declarations).not.toContain('$schema');
    expect(declarations).not.toContain('propertyNames');
    // The model's parts come back unchanged, signatures included; responses are objects with the id echoed.
    const modelTurn = second!.body.contents.at(-2)!;
    expect(modelTurn.role).toBe('model');
    expect(modelTurn.parts[0]).toEqual({
      functionCall: { id: 'c1', name: 'list_tables', args: { base_id: DEMO_BASE } },
      thoughtSignature: 'sig-step-1',
    });
    const [response] = lastFunctionResponses(second!);
    expect(response!.id).toBe('c1');
    expect(response!.name).toBe('list_tables');
    expect(typeof response!.response.output).toBe('string');
    expect(third!.body.contents.at(-2)!.parts[0]!.thoughtSignature).toBe('sig-step-2');

    // Tool calls went through the runtime (usage records) with source chat; one chat record for the turn.
    const toolEvents = rt.usage.events.filter((e) => e.kind === 'tool');
    expect(toolEvents.map((e) => [e.name, e.source, e.sessionId])).toEqual([
      ['list_tables', 'chat', result.session_id],
      ['get_records', 'chat', result.session_id],
    ]);
    const chat = rt.usage.events.filter((e) => e.kind === 'chat');
    expect(chat).toHaveLength(1);
    expect(chat[0]).toMatchObject({
      name: 'gemini-3.8-flash',
      model: 'gemini-3.8-flash',
      outcome: 'ok',
      principalId: 'key_admin',
    });
    expect(chat[0]!.inputTokens).toBeGreaterThan(0);
    expect(chat[0]!.costUsd).toBeCloseTo(result.cost.total_usd, 6);
  });

  it('runs parallel calls together and answers each in order', async () => {
    gemini.enqueue(
      callTools(
        {
          name: 'get_records',
          args: { table_id: 'Projects', max_records: 1 },
          id: 'a',
          signature: 'sig-par',
        },
        { name: 'get_records', args: { table_id: 'Tasks', max_records: 1 }, id: 'b' },
        { name: 'list_bases', args: {}, id: 'c' },
      ),
      say('Done.'),
    );
    const events = await collect(orchestrator().send({ principal: ADMIN, message: 'Overview please' }));
    const calls = events.filter((e) => e.type === 'tool_call');
    expect(calls).toHaveLength(3);
    const responses = lastFunctionResponses(gemini.requests[1]!);
    expect(responses.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(gemini.requests[1]!.body.contents.at(-2)!.parts).toHaveLength(3);
    expect(events.at(-1)!.type).toBe('done');
  });

  it('streams text deltas from streamGenerateContent (SSE) and keeps every part', async () => {
    gemini.enqueue(say('Streaming works fine.', { thought: 'thinking…', signature: 'sig-stream' }));
    const turn = orchestrator().send({ principal: ADMIN, message: 'hi', stream: true });
    const events = await collect(turn);
    const result = await turn.result;
    expect(gemini.requests[0]!.method).toBe('streamGenerateContent');
    expect(gemini.requests[0]!.query).toContain('alt=sse');
    const texts = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text);
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join('')).toBe('Streaming works fine.');
    expect(result.response).toBe('Streaming works fine.');
    // The stored model content has every streamed part (thought included), unmerged.
    const contents = await repo.loadContents(result.session_id);
    const parts = contents.at(-1)!.content.parts!;
    expect(parts[0]).toEqual({ text: 'thinking…', thought: true });
    expect(parts.at(-1)!.thoughtSignature).toBe('sig-stream');
  });

  it('continues a session with the whole history and the v1 API when pinned', async () => {
    const o = orchestrator({}, { apiVersion: 'v1' });
    gemini.enqueue(say('First answer.'), say('Second answer.'));
    const first = await o.send({ principal: ADMIN, message: 'one' }).result;
    await o.send({ principal: ADMIN, message: 'two', sessionId: first.session_id }).result;
    expect(gemini.requests.map((r) => r.version)).toEqual(['v1', 'v1']);
    const contents = gemini.requests[1]!.body.contents;
    expect(contents.map((c) => [c.role, c.parts[0]!.text])).toEqual([
      ['user', 'one'],
      ['model', 'First answer.'],
      ['user', 'two'],
    ]);
    const history = (await o.history(ADMIN, first.session_id)) as {
      history: { role: string; message: string }[];
    };
    expect(history.history.map((h) => h.message)).toEqual(['one', 'First answer.', 'two', 'Second answer.']);
  });

  it('honours the thinking budget: a level on Gemini 3, a budget on 2.5', async () => {
    gemini.enqueue(say('a'), say('b'));
    await orchestrator().send({ principal: ADMIN, message: 'x', thinkingBudget: 0 }).result;
    await orchestrator({ model: 'gemini-2.5-flash-lite' }).send({
      principal: ADMIN,
      message: 'x',
      thinkingBudget: 1024,
    }).result;
    expect(gemini.requests[0]!.body.generationConfig?.thinkingConfig).toEqual({ thinkingLevel: 'LOW' });
    expect(gemini.requests[1]!.body.generationConfig?.thinkingConfig).toEqual({ thinkingBudget: 1024 });
  });

  it('stops at the step cap', async () => {
    for (let i = 0; i < 2; i++) gemini.enqueue(callTools({ name: 'list_bases', args: {} }));
    const result = await orchestrator({ maxSteps: 2 }).send({ principal: ADMIN, message: 'loop' }).result;
    expect(result.finish_reason).toBe('MAX_STEPS');
    expect(result.warnings.join(' ')).toContain('CHAT_MAX_STEPS=2');
    expect(gemini.requests).toHaveLength(2);
  });
});

describe('writes need consent', () => {
  it('pauses for approval, and an approved call runs and the turn continues', async () => {
    gemini.enqueue(
      callTools(
        {
          name: 'create_record',
          args: { table_id: 'Tasks', fields: { Title: 'Write report' } },
          id: 'w1',
          signature: 'sig-w',
        },
        { name: 'get_records', args: { table_id: 'Tasks', max_records: 1 }, id: 'r1' },
      ),
      say('Created the task.'),
    );
    const o = orchestrator();
    const paused = await o.send({ principal: ADMIN, message: 'Add a task "Write report"' }).result;
    expect(paused.status).toBe('approval_required');
    expect(paused.pending).toEqual([
      expect.objectContaining({
        call_id: 'w1',
        tool: 'create_record',
        kind: 'write',
        arguments: { table_id: 'Tasks', fields: { Title: 'Write report' } },
      }),
    ]);
    expect(paused.pending![0]!.summary).toContain('table "Tasks"');
    // The read ran at once; the write did not.
    expect(paused.tool_calls.map((c) => c.name)).toEqual(['get_records']);
    expect(rt.usage.events.filter((e) => e.kind === 'tool').map((e) => e.name)).toEqual(['get_records']);
    // A new message cannot skip the decision.
    await expect(
      o.send({ principal: ADMIN, message: 'ignore that', sessionId: paused.session_id }).result,
    ).rejects.toMatchObject({ status: 409 });

    const done = await o.decide({
      principal: ADMIN,
      sessionId: paused.session_id,
      decisions: [{ callId: 'w1', approve: true }],
    }).result;
    expect(done.status).toBe('done');
    expect(done.response).toBe('Created the task.');
    // In the order the model asked for them.
    expect(done.tool_calls.map((c) => [c.name, c.ok])).toEqual([
      ['create_record', true],
      ['get_records', true],
    ]);
    const responses = lastFunctionResponses(gemini.requests[1]!);
    expect(responses.map((r) => r.id)).toEqual(['w1', 'r1']);
    expect(responses[0]!.response.output).toBeDefined();
    const search = await rt.runtime.call(
      'search_records',
      { table_id: 'Tasks', query: 'Write report' },
      { principal: ADMIN, source: 'api' },
    );
    expect(search.structured?.count).toBe(1);
  });

  it('a rejected call is not run and the model is told', async () => {
    gemini.enqueue(
      callTools({
        name: 'delete_record',
        args: { table_id: 'Tasks', record_id: 'recNOPE0000000000' },
        id: 'd1',
      }),
      say('Okay, I left it.'),
    );
    const o = orchestrator();
    const paused = await o.send({ principal: ADMIN, message: 'delete it' }).result;
    expect(paused.pending![0]).toMatchObject({ call_id: 'd1', kind: 'destructive' });
    await expect(
      o.decide({
        principal: READER,
        sessionId: paused.session_id,
        decisions: [{ callId: 'd1', approve: true }],
      }).result,
    ).rejects.toMatchObject({
      status: 404,
    });
    const done = await o.decide({
      principal: ADMIN,
      sessionId: paused.session_id,
      decisions: [{ callId: 'd1', approve: false }],
    }).result;
    expect(done.response).toBe('Okay, I left it.');
    expect(done.tool_calls[0]).toMatchObject({ name: 'delete_record', ok: false, outcome: 'rejected' });
    expect(lastFunctionResponses(gemini.requests[1]!)[0]!.response.error).toContain('rejected');
    expect(rt.usage.events.filter((e) => e.kind === 'tool')).toHaveLength(0);
  });

  it('deny refuses writes without asking; allow runs them', async () => {
    gemini.enqueue(
      callTools({ name: 'create_record', args: { table_id: 'Tasks', fields: { Name: 'x' } } }),
      say('Cannot.'),
    );
    const denied = await orchestrator({ writePolicy: 'deny' }).send({ principal: ADMIN, message: 'add' })
      .result;
    expect(denied.tool_calls[0]).toMatchObject({ ok: false, outcome: 'denied' });
    gemini.enqueue(
      callTools({ name: 'create_record', args: { table_id: 'Tasks', fields: { Title: 'allowed' } } }),
      say('Done.'),
    );
    const allowed = await orchestrator({ writePolicy: 'allow' }).send({ principal: ADMIN, message: 'add' })
      .result;
    expect(allowed.tool_calls[0]).toMatchObject({ ok: true, outcome: 'ok' });
  });
});

describe('permissions apply through chat', () => {
  it('a read-only key sees no writing tools and cannot write', async () => {
    gemini.enqueue(
      callTools({ name: 'create_record', args: { table_id: 'Tasks', fields: { Title: 'sneaky' } } }),
      say('I cannot write.'),
    );
    const result = await orchestrator().send({ principal: READER, message: 'add a task' }).result;
    expect(result.status).toBe('done');
    expect(result.tool_calls[0]).toMatchObject({ name: 'create_record', ok: false, outcome: 'denied' });
    const names = gemini.requests[0]!.body.tools![0]!.functionDeclarations!.map((d) => d.name);
    expect(names).toContain('get_records');
    expect(names).not.toContain('create_record');
    const search = await rt.runtime.call(
      'search_records',
      { table_id: 'Tasks', query: 'sneaky' },
      { principal: ADMIN, source: 'api' },
    );
    expect(search.structured?.count).toBe(0);
    // The turn's usage record names the key that ran it, and the person behind it.
    expect(rt.usage.events.find((e) => e.kind === 'chat')).toMatchObject({
      principalKind: 'personal_key',
      principalId: 'key_reader',
      userId: 'usr_reader',
    });
  });

  it('a base the user may not use is refused, in the request and in a tool call', async () => {
    await expect(
      orchestrator().send({ principal: DEMO_ONLY, message: 'hi', baseId: ARCHIVE_BASE }).result,
    ).rejects.toMatchObject({ status: 403 });
    expect(gemini.requests).toHaveLength(0);
    const before = rt.sandbox.stats().totals.requests;
    gemini.enqueue(callTools({ name: 'list_tables', args: { base_id: ARCHIVE_BASE } }), say('Not allowed.'));
    const result = await orchestrator().send({ principal: DEMO_ONLY, message: 'archive tables?' }).result;
    expect(result.tool_calls[0]).toMatchObject({ ok: false, outcome: 'denied' });
    expect(rt.sandbox.stats().totals.requests).toBe(before);
  });
});

describe('budgets', () => {
  it('refuses a turn with 429 before Gemini is called, and warns past the threshold', async () => {
    const o = orchestrator();
    gemini.enqueue(say('first', { usage: { promptTokenCount: 100_000, candidatesTokenCount: 10_000 } }));
    const first = await o.send({ principal: ADMIN, message: 'expensive' }).result;
    expect(first.cost.total_usd).toBeGreaterThan(0.1);
    await o.putBudget(ADMIN, 'session', first.session_id, { limitUsd: 0.115, alertThreshold: 0.5 });
    const calls = gemini.requests.length;
    const error = await o
      .send({ principal: ADMIN, message: 'again', sessionId: first.session_id })
      .result.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(HttpProblem);
    expect((error as HttpProblem).status).toBe(429);
    expect((error as HttpProblem).detail).toContain('session budget');
    expect(gemini.requests.length).toBe(calls);

    await o.putBudget(ADMIN, 'session', first.session_id, { limitUsd: 1, alertThreshold: 0.1 });
    gemini.enqueue(say('ok'));
    const warned = await o.send({ principal: ADMIN, message: 'again', sessionId: first.session_id }).result;
    expect(warned.warnings.join(' ')).toMatch(/% of the session budget/);
    expect(warned.budgets[0]).toMatchObject({ scope: 'session', limit_usd: 1 });
  });

  it('a user budget covers all of the user’s sessions', async () => {
    const o = orchestrator();
    gemini.enqueue(say('first', { usage: { promptTokenCount: 200_000, candidatesTokenCount: 1_000 } }));
    await o.send({ principal: DEMO_ONLY, message: 'one' }).result;
    await o.putBudget(ADMIN, 'user', 'usr_demo', { limitUsd: 0.1, period: 'daily' });
    await expect(o.putBudget(DEMO_ONLY, 'user', 'me', { limitUsd: 100 })).rejects.toMatchObject({
      status: 403,
    });
    await expect(o.send({ principal: DEMO_ONLY, message: 'new session' }).result).rejects.toMatchObject({
      status: 429,
    });
    const mine = await o.getBudget(DEMO_ONLY, 'user', 'me');
    expect(mine.spent_usd).toBeGreaterThan(0.1);
    await o.deleteBudget(ADMIN, 'user', 'usr_demo');
  });
});

describe('failures are clear', () => {
  it('retries 429 and 500 with backoff, then succeeds', async () => {
    gemini.enqueue(fault(429), fault(500), say('Recovered.'));
    const result = await orchestrator().send({ principal: ADMIN, message: 'hi' }).result;
    expect(result.response).toBe('Recovered.');
    expect(gemini.requests).toHaveLength(3);
  });

  it('gives up with a clear error after the retries', async () => {
    gemini.enqueue(fault(429), fault(429), fault(429), fault(429));
    const error = (await orchestrator()
      .send({ principal: ADMIN, message: 'hi' })
      .result.then(
        () => undefined,
        (e: unknown) => e,
      )) as HttpProblem;
    expect(error.status).toBe(429);
    expect(error.detail).toContain('rate-limiting');
    expect(error.detail).not.toContain(KEY);
  });

  it('without a key the chat answers 503 with how to set it', async () => {
    const error = (await orchestrator({}, { apiKey: null })
      .send({ principal: ADMIN, message: 'hi' })
      .result.then(
        () => undefined,
        (e: unknown) => e,
      )) as HttpProblem;
    expect(error.status).toBe(503);
    expect(error.detail).toContain('GEMINI_API_KEY');
  });

  it('says when an answer was truncated or blocked', async () => {
    gemini.enqueue(say('Half an ans', { finishReason: 'MAX_TOKENS' }));
    const truncated = await orchestrator().send({ principal: ADMIN, message: 'long' }).result;
    expect(truncated.finish_reason).toBe('MAX_TOKENS');
    expect(truncated.response).toContain('truncated');
    gemini.enqueue({ blockReason: 'SAFETY' });
    const blocked = await orchestrator().send({ principal: ADMIN, message: 'bad' }).result;
    expect(blocked.response).toContain('refused');
    expect(blocked.warnings.join(' ')).toContain('SAFETY');
  });
});
