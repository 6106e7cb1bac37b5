/**
 * Sessions live in the store, on both dialects: a turn paused for approval
 * is approved on another replica (its own connection, its own Orchestrator)
 * and continues with the whole conversation, thought signatures included;
 * a session continues after a restart; two replicas never run one session
 * at once. SQLite in a temp file, PostgreSQL in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../src/app/principal.js';
import { silentLogger } from '../src/logger.js';
import { DEFAULT_PRICES } from '../src/orchestrator/models.js';
import { Orchestrator } from '../src/orchestrator/orchestrator.js';
import { ChatRepository } from '../src/orchestrator/repository.js';
import { exportUser } from '../src/orchestrator/service.js';
import { openPostgresDb } from '../src/store/postgres.js';
import { openSqliteDb } from '../src/store/sqlite.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';
import { DEMO_BASE, migrateChat, startTestRuntime, type TestRuntime } from './helpers/fake-gemini-runtime.js';
import { requireService } from './helpers/services.js';

const KEY = 'store-test-key';
const ALICE: Principal = {
  kind: 'user',
  id: 'usr_store_alice',
  userId: 'usr_store_alice',
  role: 'member',
  scopes: ['tools:read', 'tools:write', 'chat'],
  bases: '*',
};

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const pgUp = await requireService('PostgreSQL', () => adminQuery('select 1'), '127.0.0.1:5432/test');

interface Backend {
  label: string;
  dialect: 'sqlite' | 'postgres';
  skip: boolean;
  /** Creates the empty database. */
  setup(): Promise<void>;
  /** A new connection to it (one per replica). */
  connect(): Promise<Kysely<unknown>>;
  teardown(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  return {
    label: 'sqlite',
    dialect: 'sqlite',
    skip: false,
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'amk-chat-'));
    },
    connect: async () => (await openSqliteDb(join(dir, 'chat.db'))) as unknown as Kysely<unknown>,
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresBackend(): Backend {
  const name = `amk_chat_${randomBytes(5).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    label: 'postgres',
    dialect: 'postgres',
    skip: !pgUp,
    setup: () => adminQuery(`create database "${name}"`),
    connect: async () =>
      (await openPostgresDb({ url: url.toString(), poolSize: 3 })).db as unknown as Kysely<unknown>,
    teardown: () => adminQuery(`drop database if exists "${name}" with (force)`),
  };
}

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

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe.skipIf(backend.skip)(`chat sessions in the store (${backend.label})`, () => {
    const open: Kysely<unknown>[] = [];

    /** One replica: its own connection and Orchestrator over the shared database. */
    async function replica(): Promise<{ o: Orchestrator; db: Kysely<unknown> }> {
      const db = await backend.connect();
      open.push(db);
      const o = new Orchestrator({
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
        gemini: {
          apiKey: KEY,
          baseUrl: gemini.url,
          apiVersion: 'v1beta',
          requestTimeoutMs: 5_000,
          maxRetries: 0,
        },
        prices: DEFAULT_PRICES,
        defaultBase: DEMO_BASE,
      });
      return { o, db };
    }

    beforeAll(async () => {
      await backend.setup();
      const db = await backend.connect();
      await migrateChat(db, backend.dialect);
      // Applying them again is a no-op (a second replica starting).
      await migrateChat(db, backend.dialect);
      await db.destroy();
    });

    afterAll(async () => {
      for (const db of open.splice(0)) await db.destroy().catch(() => undefined);
      await backend.teardown();
    });

    beforeEach(() => {
      gemini.requests.length = 0;
      rt.sandbox.reset();
    });

    it('a turn paused on one replica is approved on another and continues with the whole conversation', async () => {
      const a = await replica();
      const b = await replica();
      gemini.enqueue(
        say('Hello, what shall I do?', { thought: 'greet', signature: 'sig-first' }),
        callTools({
          name: 'create_record',
          args: { table_id: 'Tasks', fields: { Title: 'Across replicas' } },
          id: 'w1',
          signature: 'sig-write',
        }),
        say('Added "Across replicas".'),
      );
      const first = await a.o.send({ principal: ALICE, message: 'hi' }).result;
      const paused = await a.o.send({
        principal: ALICE,
        message: 'Add a task "Across replicas"',
        sessionId: first.session_id,
      }).result;
      expect(paused.status).toBe('approval_required');

      // Replica B knows nothing in memory: everything comes from the store.
      const done = await b.o.decide({
        principal: ALICE,
        sessionId: paused.session_id,
        decisions: [{ callId: 'w1', approve: true }],
      }).result;
      expect(done).toMatchObject({
        status: 'done',
        response: 'Added "Across replicas".',
        tools_used: ['create_record'],
      });

      const contents = gemini.requests[2]!.body.contents;
      expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
      expect(contents[1]!.parts).toEqual([
        { text: 'greet', thought: true },
        { text: 'Hello, what shall I do?', thoughtSignature: 'sig-first' },
      ]);
      expect(contents[3]!.parts[0]).toMatchObject({
        functionCall: { id: 'w1', name: 'create_record' },
        thoughtSignature: 'sig-write',
      });
      expect(contents[4]!.parts[0]).toMatchObject({ functionResponse: { id: 'w1', name: 'create_record' } });

      const search = await rt.runtime.call(
        'search_records',
        { table_id: 'Tasks', query: 'Across replicas' },
        { principal: ALICE, source: 'api' },
      );
      expect(search.structured?.count).toBe(1);

      const history = (await a.o.history(ALICE, first.session_id)) as { history: { message: string }[] };
      expect(history.history.map((h) => h.message)).toEqual([
        'hi',
        'Hello, what shall I do?',
        'Add a task "Across replicas"',
        'Added "Across replicas".',
      ]);
      const sessions = await b.o.listSessions(ALICE);
      const listed = sessions.find((s) => s.session_id === first.session_id)!;
      expect(listed).toMatchObject({ turns: 2, status: 'idle' });
      expect(listed.cost_usd).toBeGreaterThan(0);
      // A decided call cannot be decided again, on either replica.
      await expect(
        a.o.decide({
          principal: ALICE,
          sessionId: first.session_id,
          decisions: [{ callId: 'w1', approve: true }],
        }).result,
      ).rejects.toMatchObject({ status: 409 });
    });

    it('a session continues after a restart', async () => {
      const before = await replica();
      gemini.enqueue(say('Noted: the deadline is Friday.', { signature: 'sig-restart' }), say('Friday.'));
      const first = await before.o.send({ principal: ALICE, message: 'The deadline is Friday.' }).result;
      await before.db.destroy();
      open.splice(open.indexOf(before.db), 1);

      const after = await replica();
      const second = await after.o.send({
        principal: ALICE,
        message: 'When is the deadline?',
        sessionId: first.session_id,
      }).result;
      expect(second.response).toBe('Friday.');
      const contents = gemini.requests[1]!.body.contents;
      expect(contents.map((c) => c.parts.at(-1)!.text)).toEqual([
        'The deadline is Friday.',
        'Noted: the deadline is Friday.',
        'When is the deadline?',
      ]);
      expect(contents[1]!.parts.at(-1)!.thoughtSignature).toBe('sig-restart');
    });

    it('calls left without answers by a replica that died are answered as interrupted', async () => {
      const a = await replica();
      gemini.enqueue(say('Ready.'));
      const { session_id } = await a.o.send({ principal: ALICE, message: 'hello' }).result;
      // What a replica killed while its tools ran leaves behind: the model's calls, no results.
      await new ChatRepository(a.db).appendContents(
        session_id,
        'turn_lost',
        [
          {
            role: 'model',
            parts: [
              {
                functionCall: { id: 'lost1', name: 'create_record', args: {} },
                thoughtSignature: 'sig-lost',
              },
            ],
          },
        ],
        new Date().toISOString(),
      );
      const b = await replica();
      gemini.enqueue(say('Let me check whether it was added.'));
      const next = await b.o.send({ principal: ALICE, message: 'did it work?', sessionId: session_id })
        .result;
      expect(next.status).toBe('done');
      const contents = gemini.requests.at(-1)!.body.contents;
      // The stand-in answers and the new message go as one user turn (requests alternate).
      expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'model', 'user']);
      expect(contents[2]!.parts[0]!.thoughtSignature).toBe('sig-lost');
      expect(contents[3]!.parts).toEqual([
        {
          functionResponse: {
            id: 'lost1',
            name: 'create_record',
            response: { error: expect.stringContaining('may or may not have run') },
          },
        },
        { text: 'did it work?' },
      ]);
    });

    it('two replicas never run one session at once', async () => {
      const a = await replica();
      const b = await replica();
      gemini.enqueue(say('first'));
      const { session_id } = await a.o.send({ principal: ALICE, message: 'start' }).result;
      gemini.enqueue(say('slow answer', { delayMs: 600 }));
      const slow = a.o.send({ principal: ALICE, message: 'slow one', sessionId: session_id }).result;
      await new Promise((resolve) => setTimeout(resolve, 150));
      await expect(
        b.o.send({ principal: ALICE, message: 'meanwhile', sessionId: session_id }).result,
      ).rejects.toMatchObject({ status: 409 });
      expect((await slow).response).toBe('slow answer');
      gemini.enqueue(say('now it is free'));
      expect(
        (await b.o.send({ principal: ALICE, message: 'again', sessionId: session_id }).result).response,
      ).toBe('now it is free');
    });

    it('exports and erases the user’s chats on this dialect', async () => {
      const { db } = await replica();
      const repo = new ChatRepository(db);
      const exported = (await exportUser(repo, ALICE.userId!)) as {
        sessions: { contents: unknown[]; turns: { message: string }[] }[];
      };
      expect(exported.sessions.length).toBeGreaterThan(0);
      expect(exported.sessions.flatMap((s) => s.turns.map((t) => t.message))).toContain(
        'The deadline is Friday.',
      );
      await repo.eraseUser(ALICE.userId!);
      await repo.eraseUser(ALICE.userId!);
      expect(((await exportUser(repo, ALICE.userId!)) as { sessions: unknown[] }).sessions).toEqual([]);
    });
  });
}
