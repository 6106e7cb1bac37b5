/**
 * The `chat` command in the terminal, driven through stdin/stdout streams
 * against the fake Gemini and the sandbox: `-m` answers once (answer on
 * stdout, tool activity on stderr); the interactive chat streams the answer,
 * shows tool calls, asks y/n before a write, and knows /cost, /history,
 * /new and /quit; without a key it says in one line how to set one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModuleCommandContext } from '../src/app/module.js';
import { type AppConfig, sectionSchema } from '../src/app/options.js';
import { buildApp } from '../src/app/root.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { runChatCommand } from '../src/orchestrator/cli.js';
import orchestratorModule from '../src/orchestrator/index.js';
import { NO_KEY_HELP, orchestratorOptions } from '../src/orchestrator/options.js';
import { callTools, type FakeGemini, fault, say, startFakeGemini } from './helpers/fake-gemini.js';
import { DEMO_BASE, openChatDb, startTestRuntime, type TestRuntime } from './helpers/fake-gemini-runtime.js';

const KEY = 'cli-test-key';

let gemini: FakeGemini;
let rt: TestRuntime;
let db: Kysely<unknown>;

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  rt = await startTestRuntime();
  db = await openChatDb();
});

afterAll(async () => {
  await db?.destroy();
  await rt?.close();
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  rt.sandbox.reset();
});

function collector() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { stream, text: () => text };
}

/** Runs the command with these lines on stdin (then end of input) and returns what it wrote. */
async function chat(
  args: string[],
  lines: string[],
  settings: Record<string, unknown> = {},
): Promise<{ code: number; out: string; err: string }> {
  const config = {
    sections: {
      orchestrator: sectionSchema(orchestratorOptions).parse({
        apiKey: KEY,
        baseUrl: gemini.url,
        maxRetries: 0,
        ...settings,
      }),
    },
  } as unknown as AppConfig;
  const stdin = new PassThrough();
  const stdout = collector();
  const stderr = collector();
  stdin.end(lines.map((line) => `${line}\n`).join(''));
  let built = 0;
  const ctx: ModuleCommandContext = {
    config,
    args,
    stdin,
    stdout: stdout.stream,
    stderr: stderr.stream,
    app: async () => {
      built++;
      return {
        config,
        mode: 'cli',
        logger: silentLogger(),
        store: { db, dialect: 'sqlite' },
        tools: rt.runtime,
        usage: rt.usage,
        airtable: { client: rt.airtable, defaultBase: DEMO_BASE },
        modules: new Map(),
      } as never;
    },
  };
  const code = await runChatCommand(ctx);
  // Without a key the command stops before building the app.
  expect(built).toBe('apiKey' in settings && settings.apiKey === undefined ? 0 : 1);
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('chat -m (one message, for scripts)', () => {
  it('prints the answer on stdout and the tool activity on stderr', async () => {
    gemini.enqueue(callTools({ name: 'list_tables', args: {}, id: 'c1' }), say('There are three tables.'));
    const { code, out, err } = await chat(['-m', 'What tables are there?'], []);
    expect(code).toBe(0);
    expect(out).toBe('There are three tables.\n');
    expect(err).toContain('→ list_tables {}');
    expect(err).toMatch(/✓ list_tables \d+ ms/);
    expect(gemini.requests[0]!.body.contents[0]!.parts[0]!.text).toBe('What tables are there?');
    // The answer streams (streamGenerateContent).
    expect(gemini.requests.every((r) => r.stream)).toBe(true);
  });

  it('says what went wrong and exits 1 when Gemini fails', async () => {
    gemini.enqueue(fault(500, 'backend exploded'));
    const { code, out, err } = await chat(['-m', 'hi'], []);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/^\nerror: .*Gemini/m);
    expect(err).not.toContain(KEY);
  });

  it('--model picks the model for the turn', async () => {
    gemini.enqueue(say('ok'));
    await chat(['-m', 'hi', '--model', 'gemini-3.5-flash-lite'], []);
    expect(gemini.requests[0]!.model).toBe('gemini-3.5-flash-lite');
  });
});

describe('chat (interactive)', () => {
  it('asks before a write, runs it on y, and knows /cost, /history, /new and /quit', async () => {
    gemini.enqueue(
      callTools({
        name: 'create_record',
        args: { table_id: 'Tasks', fields: { Title: 'From the terminal' } },
        id: 'w1',
      }),
      say('Added "From the terminal".'),
    );
    const { code, out } = await chat(
      [],
      ['Add a task "From the terminal"', 'y', '/cost', '/history', '/new', '/cost', '/quit', 'never read'],
    );
    expect(code).toBe(0);
    expect(out).toContain(
      'Chat with gemini-3.8-flash (appSandboxDemo001). Commands: /cost /history /new /quit',
    );
    expect(out).toContain(
      '? Create record (create_record) adds or changes data: fields Title in table "Tasks" of base appSandboxDemo001',
    );
    expect(out).toContain('Allow? [y/N]   approved');
    expect(out).toMatch(/✓ create_record \d+ ms/);
    expect(out).toContain('Added "From the terminal".');
    expect(out).toMatch(/\[\d+ tokens, ~\$\d+\.\d{6}, 2 model call\(s\)\]/);
    expect(out).toMatch(/Session chat_\S+: 1 turns, about \$\d+\.\d{6} \(estimate\)\./);
    expect(out).toContain(
      'you> Add a task "From the terminal"\ngemini> Added "From the terminal". [create_record]',
    );
    expect(out).toContain('Started a new session.\nyou> No session yet: nothing spent.');
    expect(gemini.requests).toHaveLength(2);
    const search = await rt.runtime.call(
      'search_records',
      { table_id: 'Tasks', query: 'From the terminal' },
      { principal: { kind: 'system', id: 't', scopes: ['tools:read'], bases: '*' }, source: 'api' },
    );
    expect(search.structured?.count).toBe(1);
  });

  it('anything but y rejects the write; the model is told and the session goes on', async () => {
    gemini.enqueue(
      callTools({
        name: 'create_record',
        args: { table_id: 'Tasks', fields: { Title: 'Not wanted' } },
        id: 'w2',
      }),
      say('Fine, I did not add it.'),
      say('Still here.'),
    );
    const { code, out } = await chat([], ['Add "Not wanted"', 'no', 'are you there?']);
    expect(code).toBe(0);
    expect(out).toContain('Allow? [y/N]   rejected');
    expect(out).toContain('Fine, I did not add it.');
    expect(out).toContain('Still here.');
    // The third request continues the same session: the whole conversation is sent.
    expect(gemini.requests[2]!.body.contents[0]!.parts[0]!.text).toBe('Add "Not wanted"');
    const search = await rt.runtime.call(
      'search_records',
      { table_id: 'Tasks', query: 'Not wanted' },
      { principal: { kind: 'system', id: 't', scopes: ['tools:read'], bases: '*' }, source: 'api' },
    );
    expect(search.structured?.count).toBe(0);
  });

  it('--session continues an earlier session; unknown commands are explained', async () => {
    gemini.enqueue(say('Remembered: blue.'));
    const first = await chat(['-m', 'My colour is blue.'], []);
    expect(first.code).toBe(0);
    const [sessionRow] = (await db
      .selectFrom('chat_sessions' as never)
      .select(['id' as never])
      .orderBy('created_at' as never, 'desc')
      .limit(1)
      .execute()) as { id: string }[];
    gemini.enqueue(say('Blue.'));
    const { out } = await chat(['--session', sessionRow!.id], ['/nope', 'What is my colour?']);
    expect(out).toContain('Unknown command /nope. Commands: /cost /history /new /quit');
    expect(out).toContain('Blue.');
    // Streamed answers are kept as their parts (text deltas): joined, they are the answer.
    const texts = gemini.requests[1]!.body.contents.map((c) => c.parts.map((p) => p.text).join(''));
    expect(texts).toEqual(['My colour is blue.', 'Remembered: blue.', 'What is my colour?']);
  });

  it('without a key says in one line how to set one', async () => {
    const { code, out, err } = await chat([], ['hi'], { apiKey: undefined });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(`${NO_KEY_HELP}\n`);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(gemini.requests).toHaveLength(0);
  });
});

describe('chat on the real root (--sandbox)', () => {
  it('builds the app as a module command does, answers with the tools and keeps the session in the store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amk-chat-cli-'));
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      MODULES: 'orchestrator',
      GEMINI_API_KEY: KEY,
      GEMINI_BASE_URL: gemini.url,
      GEMINI_MAX_RETRIES: '0',
    };
    const config = loadConfig({ sandbox: true }, env, [orchestratorModule]);
    const app = await buildApp(config, 'cli', { modules: [orchestratorModule], logger: silentLogger() });
    try {
      expect(app.modules.has('orchestrator')).toBe(true);
      gemini.enqueue(
        callTools({ name: 'list_tables', args: {}, id: 'r1', signature: 'sig-root' }),
        say('The demo base has Projects, Tasks and People.'),
      );
      const stdin = new PassThrough();
      stdin.end();
      const stdout = collector();
      const stderr = collector();
      const code = await runChatCommand({
        config,
        args: ['-m', 'What is in my base?'],
        stdin,
        stdout: stdout.stream,
        stderr: stderr.stream,
        app: async () => ({ ...app.context!, modules: app.modules }),
      });
      expect(stderr.text()).toMatch(/✓ list_tables \d+ ms/);
      expect(code).toBe(0);
      expect(stdout.text()).toBe('The demo base has Projects, Tasks and People.\n');
      // The sandbox's demo base is the default: the model is told, and the tool ran on it.
      expect(JSON.stringify(gemini.requests[0]!.body.systemInstruction)).toContain('appSandboxDemo001');
      const rows = (await app
        .context!.store.db.selectFrom('chat_sessions')
        .select(['owner_id', 'base_id'])
        .execute()) as { owner_id: string; base_id: string | null }[];
      expect(rows).toEqual([{ owner_id: 'cli', base_id: 'appSandboxDemo001' }]);
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
