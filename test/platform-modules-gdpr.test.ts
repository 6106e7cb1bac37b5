/**
 * The platform with the orchestrator and saga modules, on SQLite and on
 * the real PostgreSQL: a user's chat turn (the fake Gemini server over
 * HTTP) and workflow run show up in their analytics (tokens, cost, steps),
 * in their GDPR export, and erasure leaves none of it behind in any
 * module's tables — checked in the tables themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orchestratorModule from '../src/orchestrator/index.js';
import sagaModule from '../src/saga/index.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';
import { dbOf, dumpRows, eventually, rowsMentioning, tableNames } from './helpers/platform-db.js';
import {
  ARCHIVE_BASE,
  DEMO_BASE,
  expectProblem,
  type Json,
  PASSWORD,
  type PlatformServer,
  sandboxRequests,
  signedInUser,
  startPlatform,
  type TokenPair,
} from './helpers/platform-http.js';
import { testDatabases } from './helpers/postgres.js';

const GEMINI_KEY = 'platform-modules-gemini-key';
/** Words only this user wrote: a chat message and a workflow's name. */
const CHAT_WORDS = 'my private zebra question';
const WORKFLOW_NAME = 'Quokka weekly digest';
/** How long a chat turn or a workflow run may take to show up. */
const SETTLE_MS = 8_000;

const databases = testDatabases();
afterAll(() => databases.dropAll());

/** Every row of every table the modules and the core keep about people (read-only). */
async function dumpTables(server: PlatformServer): Promise<Record<string, Json[]>> {
  const tables = (await tableNames(server)).filter((n) =>
    /^(platform_|chat_|saga_|usage_records$|mcp_sessions$)/.test(n),
  );
  for (const expected of ['chat_sessions', 'chat_turns', 'saga_workflows', 'saga_runs', 'usage_records']) {
    expect(tables).toContain(expected);
  }
  return dumpRows(server, tables);
}

describe.each([
  ['sqlite', async () => ({})],
  ['postgres', async () => ({ DATABASE_URL: await databases.create('amk_platform_modules') })],
] as const)('platform with orchestrator and saga (%s)', (_dialect, storeEnv) => {
  let gemini: FakeGemini;
  let server: PlatformServer;
  let carol: TokenPair & { email: string };
  let workflowId: string;

  beforeAll(async () => {
    gemini = await startFakeGemini({ apiKey: GEMINI_KEY });
    server = await startPlatform(
      {
        ...(await storeEnv()),
        GEMINI_API_KEY: GEMINI_KEY,
        GEMINI_BASE_URL: gemini.url,
        GEMINI_MAX_RETRIES: '0',
        AIRTABLE_BASE: DEMO_BASE,
        SAGA_POLL_MS: '50',
      },
      [orchestratorModule, sagaModule],
    );
    carol = await signedInUser(server, 'carol');

    gemini.enqueue(
      callTools({ name: 'list_tables', args: {}, id: 't1' }),
      say('Three tables.', { usage: { promptTokenCount: 1_000, candidatesTokenCount: 200 } }),
    );
    const chat = await server.call('POST', '/api/chat', carol.access_token, {
      message: CHAT_WORDS,
      base_id: DEMO_BASE,
    });
    expect(chat.status, chat.text).toBe(200);
    expect(chat.body.tools_used).toEqual(['list_tables']);

    const created = await server.call('POST', '/api/workflows', carol.access_token, {
      name: WORKFLOW_NAME,
      steps: [{ name: 'note', type: 'log', message: 'hello from the digest' }],
    });
    expect(created.status, created.text).toBe(201);
    workflowId = created.body.workflow.id;
    const triggered = await server.call(
      'POST',
      `/api/workflows/${workflowId}/trigger`,
      carol.access_token,
      {},
    );
    expect(triggered.status, triggered.text).toBe(202);
    const runId = triggered.body.run.id;
    await eventually(async () => {
      const run = await server.call('GET', `/api/runs/${runId}`, carol.access_token);
      expect(run.body.run?.status ?? run.body.status).toMatch(/completed|succeeded|done/);
    }, SETTLE_MS);
  });
  afterAll(async () => {
    await server?.close();
    await gemini?.close();
  });

  it('counts the chat turn (tokens, cost), its tool call and the workflow step as the user’s usage', async () => {
    const metrics = await eventually(async () => {
      const res = await server.call('GET', '/api/analytics/metrics', carol.access_token);
      expect(res.body.input_tokens).toBeGreaterThanOrEqual(1_000);
      return res.body;
    }, SETTLE_MS);
    expect(metrics.output_tokens).toBeGreaterThanOrEqual(200);
    expect(metrics.cost_usd).toBeGreaterThan(0);
    const rows = await dbOf(server)
      .selectFrom('usage_records')
      .selectAll()
      .where('user_id', '=', carol.user.id)
      .execute();
    const kinds = rows.map((r: Json) => r.kind);
    expect(kinds).toContain('chat');
    expect(kinds).toContain('tool');
    expect(kinds).toContain('workflow_step');
    const byTool = await server.call('GET', '/api/analytics/usage?group_by=tool', carol.access_token);
    expect(byTool.body.groups.map((g: Json) => g.key)).toContain('list_tables');
    const cost = rows.reduce((sum: number, r: Json) => sum + Number(r.cost_usd), 0);
    expect(metrics.cost_usd).toBeCloseTo(cost, 9);
  });

  it('exports the chats and the workflows with the rest of the user’s data', async () => {
    const res = await server.call('POST', '/api/gdpr/export', carol.access_token);
    expect(res.status, res.text).toBe(200);
    const { orchestrator, saga, core, platform } = res.body.data;
    expect(platform.profile.email).toBe(carol.email);
    expect(JSON.stringify(orchestrator)).toContain(CHAT_WORDS);
    expect(JSON.stringify(saga)).toContain(WORKFLOW_NAME);
    expect(core.usage_records.length).toBeGreaterThanOrEqual(3);
    expect(res.text).not.toContain(carol.refresh_token);
    expect(res.text).not.toContain(GEMINI_KEY);
  });

  it('base permissions bind chats and workflows: nothing reaches a base the user may not use', async () => {
    const dana = await signedInUser(server, 'dana', { allowed_bases: [DEMO_BASE] });
    const archiveBefore = sandboxRequests(server, ARCHIVE_BASE);
    const asked = gemini.requests.length;
    const refused = await server.call('POST', '/api/chat', dana.access_token, {
      message: 'hi',
      base_id: ARCHIVE_BASE,
    });
    expectProblem(refused, 403);
    expect(gemini.requests.length).toBe(asked);

    // The model asks for the other base: the tool answers with an error, the sandbox hears nothing.
    gemini.enqueue(
      callTools({ name: 'list_tables', args: { base_id: ARCHIVE_BASE }, id: 'x1' }),
      say('I cannot see that base.'),
    );
    const chat = await server.call('POST', '/api/chat', dana.access_token, {
      message: 'peek',
      base_id: DEMO_BASE,
    });
    expect(chat.status, chat.text).toBe(200);
    expect(chat.body.tool_calls[0]).toMatchObject({ name: 'list_tables', ok: false });

    const created = await server.call('POST', '/api/workflows', dana.access_token, {
      name: 'Peek at the archive',
      steps: [{ name: 'peek', type: 'tool', tool: 'list_tables', args: { base_id: ARCHIVE_BASE } }],
    });
    expect(created.status, created.text).toBe(201);
    const triggered = await server.call(
      'POST',
      `/api/workflows/${created.body.workflow.id}/trigger`,
      dana.access_token,
      {},
    );
    const runId = triggered.body.run.id;
    const run = await eventually(async () => {
      const res = await server.call('GET', `/api/runs/${runId}`, dana.access_token);
      const status = res.body.run?.status ?? res.body.status;
      expect(status).toMatch(/failed|error|cancelled|compensated/);
      return res.body;
    }, SETTLE_MS);
    expect(JSON.stringify(run)).toMatch(new RegExp(`no access to base ${ARCHIVE_BASE}|${ARCHIVE_BASE}`));
    expect(sandboxRequests(server, ARCHIVE_BASE)).toBe(archiveBefore);
  });

  it('erases the user in every module: nothing with their id, email or words is left in the tables', async () => {
    const done = await server.call('POST', '/api/gdpr/deletion', carol.access_token, { password: PASSWORD });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('completed');
    expectProblem(await server.call('GET', `/api/workflows/${workflowId}`, carol.access_token), 401);
    const dump = await dumpTables(server);
    // The export made in the test before leaves a request row; the rule is the same for it.
    expect(rowsMentioning(dump, [carol.user.id, carol.email, CHAT_WORDS])).toEqual({});
    // Usage stays counted, anonymised.
    expect(dump.usage_records!.filter((r: Json) => r.kind === 'chat').length).toBeGreaterThanOrEqual(1);
  });
});
