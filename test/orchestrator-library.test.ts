/**
 * The orchestrator for an embedding app, without HTTP: createOrchestrator
 * with the app's tool runtime, send() as a result and as an event stream,
 * approvals, sessions and history, and clear errors for bad options and a
 * missing key. Against the fake Gemini and the sandbox.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatEvent, createOrchestrator, NO_KEY_HELP } from '../src/orchestrator/index.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';
import { DEMO_BASE, openChatDb, startTestRuntime, type TestRuntime } from './helpers/fake-gemini-runtime.js';

const KEY = 'library-test-key';

let gemini: FakeGemini;
let rt: TestRuntime;

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  rt = await startTestRuntime();
});

afterAll(async () => {
  await rt?.close();
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  rt.sandbox.reset();
});

function embedded(extra: Partial<Parameters<typeof createOrchestrator>[0]> = {}) {
  return createOrchestrator({
    tools: rt.runtime,
    apiKey: KEY,
    baseUrl: gemini.url,
    maxRetries: 0,
    defaultBase: DEMO_BASE,
    usage: rt.usage,
    ...extra,
  });
}

describe('createOrchestrator', () => {
  it('send() gives events as they happen and the same result as the HTTP body', async () => {
    const chat = embedded();
    try {
      gemini.enqueue(
        callTools({ name: 'list_tables', args: {}, id: 'c1', signature: 'sig-lib' }),
        say('Three tables: Projects, Tasks and People.'),
      );
      const turn = chat.send('Which tables are there?');
      const events: ChatEvent[] = [];
      for await (const event of turn) events.push(event);
      const result = await turn.result;

      expect(events[0]).toMatchObject({
        type: 'session',
        session_id: result.session_id,
        model: 'gemini-3.8-flash',
      });
      const types = events.map((e) => e.type);
      expect(types.indexOf('tool_call')).toBeLessThan(types.indexOf('tool_result'));
      expect(types).toContain('usage');
      expect(types.filter((t) => t === 'text').length).toBeGreaterThan(1);
      expect(events.at(-1)).toEqual({ type: 'done', result });
      const streamed = events
        .filter((e): e is Extract<ChatEvent, { type: 'text' }> => e.type === 'text')
        .map((e) => e.text)
        .join('');
      expect(streamed).toBe(result.response);
      expect(result).toMatchObject({
        status: 'done',
        tools_used: ['list_tables'],
        cost: { estimate: true, priced: true },
      });
      // The tool ran through the app's runtime, with its usage records.
      expect(rt.usage.events.some((e) => e.kind === 'tool' && e.name === 'list_tables')).toBe(true);
      expect(rt.usage.events.some((e) => e.kind === 'chat' && e.model === 'gemini-3.8-flash')).toBe(true);

      // The next message continues the session with the whole conversation.
      gemini.enqueue(say('Tasks.'));
      await chat.send('Which one has the to-dos?', { session: result.session_id, stream: false }).result;
      const last = gemini.requests.at(-1)!;
      expect(last.stream).toBe(false);
      expect(last.body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
      expect(last.body.contents[1]!.parts[0]!.thoughtSignature).toBe('sig-lib');

      const sessions = await chat.sessions();
      expect(sessions.map((s) => s.session_id)).toEqual([result.session_id]);
      expect(sessions[0]!.turns).toBe(2);
      const history = (await chat.history(result.session_id, true)) as {
        history: { role: string; message: string }[];
        contents: unknown[];
      };
      expect(history.history.map((h) => h.message)).toEqual([
        'Which tables are there?',
        'Three tables: Projects, Tasks and People.',
        'Which one has the to-dos?',
        'Tasks.',
      ]);
      expect(history.contents).toHaveLength(6);
      expect((await chat.models()).default_model).toBe('gemini-3.8-flash');
      await chat.deleteSession(result.session_id);
      expect(await chat.sessions()).toEqual([]);
    } finally {
      await chat.close();
    }
  });

  it('a write waits for approve(); approved, it runs and the turn continues', async () => {
    const chat = embedded();
    try {
      gemini.enqueue(
        callTools({
          name: 'create_record',
          args: { table_id: 'Tasks', fields: { Title: 'Embedded' } },
          id: 'w1',
        }),
        say('Added it.'),
      );
      const turn = chat.send('Add a task "Embedded"');
      const events: ChatEvent[] = [];
      for await (const event of turn) events.push(event);
      const paused = await turn.result;
      expect(paused.status).toBe('approval_required');
      expect(events.find((e) => e.type === 'approval_required')).toMatchObject({
        pending: [{ call_id: 'w1', tool: 'create_record', kind: 'write' }],
      });
      const done = await chat.approve(paused.session_id, 'w1').result;
      expect(done).toMatchObject({ status: 'done', response: 'Added it.', tools_used: ['create_record'] });
      const search = await rt.runtime.call(
        'search_records',
        { table_id: 'Tasks', query: 'Embedded' },
        { principal: { kind: 'system', id: 't', scopes: ['tools:read'], bases: '*' }, source: 'api' },
      );
      expect(search.structured?.count).toBe(1);
    } finally {
      await chat.close();
    }
  });

  it('acts as the principal it is given (a read-only one cannot write) and uses the app’s store', async () => {
    const db = await openChatDb();
    const chat = embedded({
      store: { db, dialect: 'sqlite' },
      principal: {
        kind: 'personal_key',
        id: 'key_ro',
        userId: 'usr_ro',
        scopes: ['tools:read', 'chat'],
        bases: '*',
      },
      writePolicy: 'allow',
    });
    try {
      gemini.enqueue(
        callTools({
          name: 'create_record',
          args: { table_id: 'Tasks', fields: { Title: 'Nope' } },
          id: 'w2',
        }),
        say('I may not write.'),
      );
      const result = await chat.send('Add "Nope"').result;
      expect(result.status).toBe('done');
      expect(result.tool_calls[0]).toMatchObject({ name: 'create_record', ok: false });
      // The model was not even offered the writing tool.
      const offered = gemini.requests[0]!.body.tools![0]!.functionDeclarations!.map((d) => d.name);
      expect(offered).toContain('get_records');
      expect(offered).not.toContain('create_record');
      const rows = await db
        .selectFrom('chat_sessions' as never)
        .select(['owner_id' as never])
        .execute();
      expect(rows).toEqual([{ owner_id: 'usr_ro' }]);
    } finally {
      await chat.close();
      await db.destroy();
    }
  });

  it('a thinking level the model lacks is replaced and said so, after the session event', async () => {
    const chat = embedded();
    try {
      gemini.enqueue(say('ok'));
      const turn = chat.send('hi', { thinkingLevel: 'MINIMAL' });
      const events: ChatEvent[] = [];
      for await (const event of turn) events.push(event);
      const result = await turn.result;
      expect(events.slice(0, 2).map((e) => e.type)).toEqual(['session', 'warning']);
      expect(events[1]).toMatchObject({ message: expect.stringContaining('MINIMAL') });
      expect(result.warnings).toEqual([expect.stringContaining('used LOW')]);
      expect(result.thinking).toEqual({ thinking_level: 'LOW' });
      expect(gemini.requests[0]!.body.generationConfig?.thinkingConfig).toEqual({ thinkingLevel: 'LOW' });
    } finally {
      await chat.close();
    }
  });

  it('bad options and a missing key fail every turn with a clear error (event and result)', async () => {
    const bad = embedded({ model: 'not a model!' });
    const turn = bad.send('hi');
    const events: ChatEvent[] = [];
    for await (const event of turn) events.push(event);
    await expect(turn.result).rejects.toMatchObject({
      status: 400,
      detail: expect.stringContaining('model'),
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'error',
        status: 400,
        detail: expect.stringContaining('createOrchestrator: model'),
      }),
    ]);
    await bad.close();

    const pricing = embedded({ pricing: '{"gemini-3.8-flash": {"input_per_mtok": "cheap"}}' });
    await expect(pricing.send('hi').result).rejects.toMatchObject({
      detail: expect.stringContaining('GEMINI_PRICING'),
    });
    await pricing.close();

    const saved = process.env.GEMINI_API_KEY;
    delete process.env.GEMINI_API_KEY;
    try {
      const keyless = embedded({ apiKey: undefined });
      await expect(keyless.send('hi').result).rejects.toMatchObject({
        status: 503,
        detail: expect.stringContaining(NO_KEY_HELP),
      });
      await keyless.close();
    } finally {
      if (saved !== undefined) process.env.GEMINI_API_KEY = saved;
    }
    expect(gemini.requests).toHaveLength(0);
  });
});
