/**
 * Usage analytics and GDPR over real HTTP, on SQLite and on the real
 * PostgreSQL: two users make MCP tool calls, then the figures of
 * /api/analytics (usage per day/tool/user, metrics, dashboard) must match
 * what they did and what usage_records hold; client events are validated,
 * size-capped and rate-limited. GDPR: the consent ledger, an export that
 * holds no secret, and erasure — checked in the tables themselves, not
 * only through the API.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/platform/tokens.js';
import { keyId } from '../src/store/api-keys.js';
import { dbOf, dumpRows, eventually, rowsMentioning, tableNames } from './helpers/platform-db.js';
import {
  createKey,
  DEMO_BASE,
  email,
  expectProblem,
  type Json,
  login,
  mcpClient,
  PASSWORD,
  type PlatformServer,
  signedInUser,
  startPlatform,
  type TokenPair,
  toolText,
} from './helpers/platform-http.js';
import { testDatabases } from './helpers/postgres.js';

const EVENTS_PER_MINUTE = 5;

const databases = testDatabases();
afterAll(() => databases.dropAll());

/** Every row of every platform_* table and usage_records, by table (read-only). */
async function dumpTables(server: PlatformServer): Promise<Record<string, Json[]>> {
  const tables = (await tableNames(server)).filter((n) => n.startsWith('platform_') || n === 'usage_records');
  expect(tables).toContain('platform_users');
  expect(tables).toContain('usage_records');
  return dumpRows(server, tables);
}

async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

describe.each([
  ['sqlite', async () => ({})],
  ['postgres', async () => ({ DATABASE_URL: await databases.create('amk_platform_gdpr') })],
] as const)('analytics and GDPR (%s)', (_dialect, storeEnv) => {
  let server: PlatformServer;
  let alice: TokenPair & { email: string };
  let bob: TokenPair & { email: string };
  let admin: TokenPair & { email: string };
  let aliceKey: Json;
  let erasedDump: Record<string, Json[]> | undefined;

  beforeAll(async () => {
    server = await startPlatform({
      ...(await storeEnv()),
      ANALYTICS_EVENTS_PER_MINUTE: String(EVENTS_PER_MINUTE),
    });
    alice = await signedInUser(server, 'alice');
    bob = await signedInUser(server, 'bob');
    admin = await signedInUser(server, 'admin', { role: 'admin' });
    aliceKey = await createKey(server, alice.access_token, { name: 'alice mcp', scopes: ['tools:write'] });

    // Alice: 3 good calls and 1 failing one (a table that does not exist), with her key.
    const a = await mcpClient(server, aliceKey.key);
    try {
      for (let i = 0; i < 3; i++) {
        const ok = await callTool(a, 'list_tables', { base_id: DEMO_BASE });
        expect(ok.isError, toolText(ok)).toBeFalsy();
      }
      const failed = await callTool(a, 'get_records', { base_id: DEMO_BASE, table_id: 'No Such Table' });
      expect(failed.isError).toBe(true);
    } finally {
      await a.close();
    }
    // Bob: 2 good calls with his access token.
    const b = await mcpClient(server, bob.access_token);
    try {
      for (let i = 0; i < 2; i++) {
        const ok = await callTool(b, 'get_records', {
          base_id: DEMO_BASE,
          table_id: 'Projects',
          max_records: 2,
        });
        expect(ok.isError, toolText(ok)).toBeFalsy();
      }
    } finally {
      await b.close();
    }
    // The records are written in the background: wait until all six are in the table.
    await eventually(async () => {
      const rows = await dbOf(server).selectFrom('usage_records').selectAll().execute();
      expect(rows.filter((r: Json) => r.kind !== 'event')).toHaveLength(6);
    });
  });
  afterAll(() => server?.close());

  it('records who made each call (user id and principal) in usage_records', async () => {
    const rows = await dbOf(server).selectFrom('usage_records').selectAll().orderBy('id').execute();
    const aliceRows = rows.filter((r: Json) => r.user_id === alice.user.id);
    const bobRows = rows.filter((r: Json) => r.user_id === bob.user.id);
    expect(aliceRows.map((r: Json) => r.tool)).toEqual([
      'list_tables',
      'list_tables',
      'list_tables',
      'get_records',
    ]);
    // The failing call is refused one way or another (an unknown table: invalid_input or error).
    expect(aliceRows.map((r: Json) => r.outcome === 'ok')).toEqual([true, true, true, false]);
    expect(
      aliceRows.every((r: Json) => r.principal_kind === 'personal_key' && r.principal_id === aliceKey.id),
    ).toBe(true);
    expect(bobRows).toHaveLength(2);
    expect(bobRows.every((r: Json) => r.principal_kind === 'user' && r.principal_id === bob.user.id)).toBe(
      true,
    );
  });

  it('usage group_by=tool|day|user: a member sees only their own figures', async () => {
    const byTool = await server.call('GET', '/api/analytics/usage?group_by=tool', alice.access_token);
    expect(byTool.status, byTool.text).toBe(200);
    expect(byTool.body.group_by).toBe('tool');
    const groups = Object.fromEntries(byTool.body.groups.map((g: Json) => [g.key, g]));
    expect(Object.keys(groups).sort()).toEqual(['get_records', 'list_tables']);
    expect(groups.list_tables).toMatchObject({ calls: 3, errors: 0 });
    expect(groups.get_records).toMatchObject({ calls: 1, errors: 1 });
    const rows = await dbOf(server)
      .selectFrom('usage_records')
      .selectAll()
      .where('user_id', '=', alice.user.id)
      .execute();
    const listRequests = rows
      .filter((r: Json) => r.tool === 'list_tables')
      .reduce((sum: number, r: Json) => sum + Number(r.airtable_requests), 0);
    // At least one request reached the sandbox (the schema is cached between calls).
    expect(listRequests).toBeGreaterThanOrEqual(1);
    expect(groups.list_tables.airtable_requests).toBe(listRequests);

    const byDay = await server.call('GET', '/api/analytics/usage?group_by=day', alice.access_token);
    const today = new Date().toISOString().slice(0, 10);
    expect(byDay.body.groups).toEqual([expect.objectContaining({ day: today, calls: 4, errors: 1 })]);
    // The default period is the last 30 days.
    const span = Date.parse(byDay.body.to) - Date.parse(byDay.body.from);
    expect(Math.abs(span - 30 * 86_400_000)).toBeLessThan(86_400_000);

    const byUser = await server.call('GET', '/api/analytics/usage?group_by=user', alice.access_token);
    expect(byUser.body.groups).toEqual([expect.objectContaining({ key: alice.email, calls: 4, errors: 1 })]);
    // Asking for Bob's figures as a member never shows them.
    const peek = await server.call(
      'GET',
      `/api/analytics/usage?group_by=user&user_id=${bob.user.id}`,
      alice.access_token,
    );
    if (peek.status === 200) {
      expect(peek.body.groups.map((g: Json) => g.key)).not.toContain(bob.email);
    } else {
      expectProblem(peek, 403);
    }
    // A period in the future holds nothing.
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const empty = await server.call(
      'GET',
      `/api/analytics/usage?group_by=tool&from=${encodeURIComponent(future)}&to=${encodeURIComponent(later)}`,
      alice.access_token,
    );
    expect(empty.body.groups).toEqual([]);
    const bad = await server.call(
      'GET',
      '/api/analytics/usage?group_by=week&from=yesterday',
      alice.access_token,
    );
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual(['query.from', 'query.group_by']);
  });

  it('usage group_by=user for admins (admin user and server key): everyone, or one user_id', async () => {
    for (const token of [admin.access_token, server.serverKey]) {
      const all = await server.call('GET', '/api/analytics/usage?group_by=user', token);
      expect(all.status, all.text).toBe(200);
      const groups = Object.fromEntries(all.body.groups.map((g: Json) => [g.key, g]));
      expect(groups[alice.email]).toMatchObject({ calls: 4, errors: 1 });
      expect(groups[bob.email]).toMatchObject({ calls: 2, errors: 0 });
      const one = await server.call(
        'GET',
        `/api/analytics/usage?group_by=tool&user_id=${bob.user.id}`,
        token,
      );
      expect(one.body.groups).toEqual([expect.objectContaining({ key: 'get_records', calls: 2, errors: 0 })]);
    }
  });

  it('metrics: calls, errors, error_rate and p50/p95 match the records', async () => {
    const mine = await server.call('GET', '/api/analytics/metrics', alice.access_token);
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body).toMatchObject({ calls: 4, errors: 1, error_rate: 0.25 });
    const rows = await dbOf(server)
      .selectFrom('usage_records')
      .selectAll()
      .where('user_id', '=', alice.user.id)
      .execute();
    const durations = rows.map((r: Json) => Number(r.duration_ms)).sort((x: number, y: number) => x - y);
    expect(durations).toHaveLength(4);
    const [, d1, d2, d3] = durations as [number, number, number, number];
    // With four records any usual percentile definition (nearest rank, interpolation) gives
    // p50 between the 2nd and 3rd duration and p95 between the 3rd and 4th (±1 ms for rounding).
    expect(mine.body.p50_ms).toBeGreaterThanOrEqual(d1 - 1);
    expect(mine.body.p50_ms).toBeLessThanOrEqual(d2 + 1);
    expect(mine.body.p95_ms).toBeGreaterThanOrEqual(d2 - 1);
    expect(mine.body.p95_ms).toBeLessThanOrEqual(d3 + 1);
    expect(mine.body.airtable_requests).toBe(
      rows.reduce((s: number, r: Json) => s + Number(r.airtable_requests), 0),
    );
    expect(mine.body).toMatchObject({ input_tokens: 0, output_tokens: 0, cost_usd: 0 });

    const everyone = await server.call('GET', '/api/analytics/metrics', server.serverKey);
    expect(everyone.body).toMatchObject({ calls: 6, errors: 1 });
    expect(everyone.body.error_rate).toBeCloseTo(1 / 6, 5);
    const bobs = await server.call('GET', '/api/analytics/metrics', bob.access_token);
    expect(bobs.body).toMatchObject({ calls: 2, errors: 0, error_rate: 0 });
  });

  it('dashboard: today, last 7 days, top tools and recent errors of the caller', async () => {
    const res = await server.call('GET', '/api/analytics/dashboard', alice.access_token);
    expect(res.status, res.text).toBe(200);
    expect(res.body.today).toMatchObject({ calls: 4, errors: 1 });
    expect(res.body.last_7_days).toMatchObject({ calls: 4, errors: 1 });
    expect(res.body.top_tools[0]).toEqual({ key: 'list_tables', calls: 3, errors: 0 });
    expect(res.body.top_tools[1]).toEqual({ key: 'get_records', calls: 1, errors: 1 });
    expect(res.body.recent_errors).toHaveLength(1);
    expect(JSON.stringify(res.body.recent_errors[0])).toContain('get_records');
    const bobs = await server.call('GET', '/api/analytics/dashboard', bob.access_token);
    expect(bobs.body.recent_errors).toEqual([]);
    expectProblem(await server.call('GET', '/api/analytics/dashboard'), 401);
  });

  it('usage by user names callers without an account by their principal id (a server key)', async () => {
    const client = await mcpClient(server, server.serverKey);
    try {
      expect((await callTool(client, 'list_tables', { base_id: DEMO_BASE })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const groups = await eventually(async () => {
      const res = await server.call('GET', '/api/analytics/usage?group_by=user', server.serverKey);
      const byKey = Object.fromEntries(res.body.groups.map((g: Json) => [g.key, g]));
      expect(byKey[keyId(server.serverKey)]).toMatchObject({ calls: 1, errors: 0 });
      return byKey;
    });
    expect(groups[alice.email]).toMatchObject({ calls: 4 });
    // A member never sees it.
    const mine = await server.call('GET', '/api/analytics/usage?group_by=user', bob.access_token);
    expect(mine.body.groups.map((g: Json) => g.key)).toEqual([bob.email]);
  });

  it('events: 202 recorded, 400 for a bad name, 413 past 4 KB, 429 past the per-minute limit', async () => {
    const eve = await signedInUser(server, 'eve');
    const ok = await server.call('POST', '/api/analytics/events', eve.access_token, {
      name: 'console.opened',
      properties: { page: 'home' },
    });
    expect(ok.status, ok.text).toBe(202);
    expect(ok.body).toEqual({ recorded: true });
    const bad = await server.call('POST', '/api/analytics/events', eve.access_token, { name: 'has spaces!' });
    expectProblem(bad, 400);
    expect(bad.body.errors[0].field).toBe('name');
    const big = await server.call('POST', '/api/analytics/events', eve.access_token, {
      name: 'big',
      properties: { blob: 'x'.repeat(5_000) },
    });
    expectProblem(big, 413);
    const statuses: number[] = [];
    for (let i = 0; i < EVENTS_PER_MINUTE + 1; i++) {
      statuses.push(
        (await server.call('POST', '/api/analytics/events', eve.access_token, { name: 'tick' })).status,
      );
    }
    // One was recorded above (the 413 and the 400 were not counted, or were: either way the last is refused).
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(EVENTS_PER_MINUTE - 1);
    // Another principal has its own allowance.
    expect(
      (await server.call('POST', '/api/analytics/events', bob.access_token, { name: 'tick' })).status,
    ).toBe(202);
    // Events are kept, but not counted as calls.
    const events = await eventually(async () => {
      const rows = await dbOf(server)
        .selectFrom('usage_records')
        .selectAll()
        .where('user_id', '=', eve.user.id)
        .execute();
      expect(rows.length).toBeGreaterThanOrEqual(2);
      return rows;
    });
    expect(events.every((r: Json) => r.kind === 'event')).toBe(true);
    expect((await server.call('GET', '/api/analytics/metrics', eve.access_token)).body.calls).toBe(0);
  });

  it('consent: grant, withdraw (as easy), the current state and the full history; only for users', async () => {
    const put = (body: Json, token = alice.access_token) =>
      server.call('PUT', '/api/gdpr/consent', token, body);
    const granted = await put({ purpose: 'analytics', granted: true, policy_version: '2026-01' });
    expect(granted.status, granted.text).toBe(200);
    expect(granted.body).toEqual({
      purpose: 'analytics',
      granted: true,
      policy_version: '2026-01',
      updated_at: expect.any(String),
    });
    await put({ purpose: 'marketing', granted: true, policy_version: '2026-01' });
    const withdrawn = await put({ purpose: 'analytics', granted: false, policy_version: '2026-01' });
    expect(withdrawn.body.granted).toBe(false);

    const ledger = await server.call('GET', '/api/gdpr/consent', alice.access_token);
    expect(ledger.status).toBe(200);
    const current = Object.fromEntries(ledger.body.current.map((c: Json) => [c.purpose, c.granted]));
    expect(current).toEqual({ analytics: false, marketing: true });
    expect(ledger.body.history.map((c: Json) => [c.purpose, c.granted])).toEqual([
      ['analytics', true],
      ['marketing', true],
      ['analytics', false],
    ]);
    // Bob's ledger is his own.
    expect((await server.call('GET', '/api/gdpr/consent', bob.access_token)).body.history).toEqual([]);

    const bad = await put({ purpose: 'Not Valid!', granted: 'yes' });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual([
      'granted',
      'policy_version',
      'purpose',
    ]);
    expectProblem(await put({ purpose: 'x', granted: true, policy_version: '1' }, server.serverKey), 403);
    expectProblem(await server.call('GET', '/api/gdpr/consent'), 401);

    // Every change is in the audit trail, pseudonymous.
    const audit = await dbOf(server).selectFrom('platform_audit').selectAll().execute();
    expect(audit.length).toBeGreaterThanOrEqual(3);
    const trail = JSON.stringify(audit);
    expect(trail).not.toContain(alice.user.id);
    expect(trail.toLowerCase()).not.toContain(alice.email.toLowerCase());
    // The API has no way to edit or delete audit rows.
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const res = await server.call(method, '/api/gdpr/audit', server.serverKey, {});
      expect([404, 405]).toContain(res.status);
    }
  });

  it('export: everything about the caller, and no hash, key, token or password', async () => {
    const res = await server.call('POST', '/api/gdpr/export', alice.access_token);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ exported_at: expect.any(String), user_id: alice.user.id });
    const { platform, core } = res.body.data;
    expect(platform.profile).toMatchObject({ id: alice.user.id, email: alice.email });
    expect(platform.consents.length).toBeGreaterThanOrEqual(3);
    expect(platform.keys.map((k: Json) => k.id)).toEqual([aliceKey.id]);
    expect(platform.sign_ins.length).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(platform.gdpr_requests)).toBe(true);
    expect(core.usage_records).toHaveLength(4);
    expect(core.usage_records.map((r: Json) => r.name ?? r.tool).sort()).toEqual([
      'get_records',
      'list_tables',
      'list_tables',
      'list_tables',
    ]);

    const user = await dbOf(server)
      .selectFrom('platform_users')
      .selectAll()
      .where('id', '=', alice.user.id)
      .executeTakeFirstOrThrow();
    const refreshRows = await dbOf(server)
      .selectFrom('platform_refresh_tokens')
      .select('token_hash')
      .where('user_id', '=', alice.user.id)
      .execute();
    const forbidden = {
      'the personal key': aliceKey.key,
      'the personal key without prefix': aliceKey.key.slice(4),
      'the key hash': sha256Hex(aliceKey.key),
      'the refresh token': alice.refresh_token,
      'the access token': alice.access_token,
      'the password hash': user.password_hash,
      'the password': PASSWORD,
      ...Object.fromEntries(
        refreshRows.map((r: Json, i: number) => [`refresh token hash ${i}`, r.token_hash]),
      ),
    };
    for (const [what, secret] of Object.entries(forbidden)) {
      expect(res.text.includes(secret), `the export contains ${what}`).toBe(false);
    }
    expect(res.text).not.toMatch(/argon2|password_hash|token_hash|"hash"/);
    expectProblem(await server.call('POST', '/api/gdpr/export', server.serverKey), 403);

    const status = await server.call('GET', '/api/gdpr/status', alice.access_token);
    expect(status.status).toBe(200);
    expect(status.body.requests.map((r: Json) => r.kind)).toContain('export');
    expect(status.body.retention).toMatchObject({ usage_records_days: 90, refresh_token_days: 7 });
    expect(status.body.retention).toHaveProperty('audit_log');
    expect(status.body.consents.map((c: Json) => c.purpose).sort()).toEqual(['analytics', 'marketing']);
  });

  it('deletion: 403 with a wrong password; with the right one nothing of the user is left', async () => {
    const wrong = await server.call('POST', '/api/gdpr/deletion', alice.access_token, {
      password: 'not my password',
    });
    expectProblem(wrong, 403);
    expect((await server.call('GET', '/api/auth/verify', alice.access_token)).status).toBe(200);
    expectProblem(
      await server.call('POST', '/api/gdpr/deletion', server.serverKey, { password: PASSWORD }),
      403,
    );

    const latest = await login(server, alice.email);
    const totalsBefore = (await server.call('GET', '/api/analytics/metrics', server.serverKey)).body;
    const done = await server.call('POST', '/api/gdpr/deletion', alice.access_token, { password: PASSWORD });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toEqual({ status: 'completed', request_id: expect.any(String) });

    expectProblem(
      await server.call('POST', '/api/auth/login', undefined, { email: alice.email, password: PASSWORD }),
      401,
    );
    for (const credential of [alice.access_token, latest.access_token, aliceKey.key]) {
      expectProblem(await server.call('GET', '/api/auth/verify', credential), 401);
    }
    expectProblem(
      await server.call('POST', '/api/auth/refresh', undefined, { refresh_token: latest.refresh_token }),
      401,
    );
    await expect(mcpClient(server, aliceKey.key)).rejects.toThrow(/401|Unauthorized|not valid|invalid/i);

    // The tables (the next test checks every cell): her usage stays counted, anonymised.
    erasedDump = await dumpTables(server);
    expect(erasedDump.platform_users!.map((u: Json) => u.email)).not.toContain(alice.email);
    const requests = erasedDump.platform_gdpr_requests!.filter((r: Json) => r.id === done.body.request_id);
    expect(requests).toEqual([
      expect.objectContaining({ kind: 'erasure', status: 'completed', user_id: null }),
    ]);
    expect(erasedDump.platform_audit!.some((r: Json) => /erasure|deletion|erase/.test(r.action))).toBe(true);
    const totalsAfter = (await server.call('GET', '/api/analytics/metrics', server.serverKey)).body;
    expect(totalsAfter).toMatchObject({ calls: totalsBefore.calls, errors: totalsBefore.errors });
    // Analytics no longer name her.
    const byUser = await server.call('GET', '/api/analytics/usage?group_by=user', server.serverKey);
    expect(byUser.text).not.toContain(alice.email);
    expect(byUser.text).not.toContain(alice.user.id);
    // Bob is untouched.
    expect((await server.call('GET', '/api/auth/verify', bob.access_token)).status).toBe(200);
    expect(rowsMentioning(erasedDump, [bob.user.id]).platform_users).toHaveLength(1);
  });

  it('after deletion, no row of platform_* or usage_records holds her id or email (an export was made before)', () => {
    expect(erasedDump, 'the deletion test ran first').toBeDefined();
    expect(rowsMentioning(erasedDump!, [alice.user.id, alice.email])).toEqual({});
  });

  it('DELETE /api/users/{id} (admin) erases a user the same way', async () => {
    const gone = await signedInUser(server, 'gone');
    const key = await createKey(server, gone.access_token, { scopes: ['tools:read'] });
    await server.call('PUT', '/api/gdpr/consent', gone.access_token, {
      purpose: 'analytics',
      granted: true,
      policy_version: '1',
    });
    const client = await mcpClient(server, key.key);
    try {
      await callTool(client, 'list_tables', { base_id: DEMO_BASE });
    } finally {
      await client.close();
    }
    await eventually(async () => {
      const rows = await dbOf(server)
        .selectFrom('usage_records')
        .selectAll()
        .where('user_id', '=', gone.user.id)
        .execute();
      expect(rows).toHaveLength(1);
    });
    const deleted = await server.call('DELETE', `/api/users/${gone.user.id}`, server.serverKey);
    expect(deleted.status, deleted.text).toBe(204);
    expect(rowsMentioning(await dumpTables(server), [gone.user.id, gone.email])).toEqual({});
    expectProblem(await server.call('GET', '/api/auth/verify', key.key), 401);
    expectProblem(await server.call('DELETE', `/api/users/${gone.user.id}`, server.serverKey), 404);
    const unknown = email('never');
    expectProblem(
      await server.call('POST', '/api/auth/login', undefined, { email: unknown, password: PASSWORD }),
      401,
    );
  });
});
