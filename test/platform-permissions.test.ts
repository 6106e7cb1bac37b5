/**
 * Scopes and base permissions through the public surfaces: personal keys
 * over /api and /mcp (shown once, listed without the secret, revoked at
 * once, never beyond their owner), base permissions over MCP (list_bases,
 * tools on another base refused before the sandbox hears of it), read-only
 * keys, /api/execute-tool (platform + orchestrator), and an admin's change
 * to a user taking effect on the next request.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import orchestratorModule from '../src/orchestrator/index.js';
import {
  ARCHIVE_BASE,
  createKey,
  DEMO_BASE,
  expectProblem,
  type Json,
  login,
  mcpClient,
  type PlatformServer,
  sandboxRequests,
  signedInUser,
  startPlatform,
  toolText,
} from './helpers/platform-http.js';

async function listedBases(client: Client): Promise<string[]> {
  const result = (await client.callTool({ name: 'list_bases', arguments: {} })) as CallToolResult;
  expect(result.isError, toolText(result)).toBeFalsy();
  return (result.structuredContent as { bases: { id: string }[] }).bases.map((b) => b.id).sort();
}

async function tablesOf(client: Client, baseId: string): Promise<CallToolResult> {
  return (await client.callTool({ name: 'list_tables', arguments: { base_id: baseId } })) as CallToolResult;
}

async function withClient<T>(client: Promise<Client>, run: (client: Client) => Promise<T>): Promise<T> {
  const connected = await client;
  try {
    return await run(connected);
  } finally {
    await connected.close();
  }
}

describe('personal keys and base permissions', () => {
  let server: PlatformServer;
  beforeAll(async () => {
    server = await startPlatform();
  });
  afterAll(() => server?.close());

  it('creates a key shown once, lists it without the secret, and it works on /api and /mcp (Bearer and X-API-Key)', async () => {
    const user = await signedInUser(server, 'keys');
    const created = await createKey(server, user.access_token, { name: 'laptop', scopes: ['tools:write'] });
    expect(created.key).toMatch(/^pyu_[0-9a-f]{64}$/);
    expect(created).toMatchObject({
      id: expect.any(String),
      name: 'laptop',
      prefix: created.key.slice(0, 12),
      scopes: ['tools:write'],
      bases: '*',
      revoked_at: null,
    });
    const listed = await server.call('GET', '/api/keys', user.access_token);
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toHaveLength(1);
    expect(listed.body.keys[0]).toMatchObject({ id: created.id, name: 'laptop', prefix: created.prefix });
    expect(listed.body.keys[0]).not.toHaveProperty('key');
    expect(listed.body.keys[0]).not.toHaveProperty('hash');
    expect(listed.text).not.toContain(created.key);
    expect(listed.text).not.toContain(created.key.slice(12));

    const verify = await server.call('GET', '/api/auth/verify', created.key);
    expect(verify.body).toMatchObject({ valid: true, user: { id: user.user.id } });
    const viaHeader = await server.call('GET', '/api/auth/verify', undefined, undefined, {
      'X-API-Key': created.key,
    });
    expect(viaHeader.status).toBe(200);
    // Listing the keys with the key itself works too ("my" route), and shows its use.
    const own = await server.call('GET', '/api/keys', created.key);
    expect(own.status).toBe(200);
    expect(own.body.keys[0].last_used_at).toEqual(expect.any(String));

    for (const header of ['Authorization', 'X-API-Key']) {
      await withClient(mcpClient(server, created.key, header), async (client) => {
        expect(await listedBases(client)).toEqual([ARCHIVE_BASE, DEMO_BASE]);
      });
    }
  });

  it('revokes a key at once: 401 on /api and /mcp (also in an open MCP session); idempotent; another user’s key is 404', async () => {
    const user = await signedInUser(server, 'revoke');
    const other = await signedInUser(server, 'revoke-other');
    const created = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const client = await mcpClient(server, created.key);
    try {
      expect((await tablesOf(client, DEMO_BASE)).isError).toBeFalsy();
      const notYours = await server.call('DELETE', `/api/keys/${created.id}`, other.access_token);
      expectProblem(notYours, 404);
      expect((await server.call('GET', '/api/auth/verify', created.key)).status).toBe(200);

      const revoked = await server.call('DELETE', `/api/keys/${created.id}`, user.access_token);
      expect(revoked.status).toBe(204);
      expect((await server.call('DELETE', `/api/keys/${created.id}`, user.access_token)).status).toBe(204);
      expectProblem(await server.call('GET', '/api/auth/verify', created.key), 401);
      // The session opened with the key is refused on its next request.
      await expect(tablesOf(client, DEMO_BASE)).rejects.toThrow(/401|revoked|Unauthorized/i);
    } finally {
      await client.close().catch(() => {});
    }
    await expect(mcpClient(server, created.key)).rejects.toThrow(/401|revoked|Unauthorized/i);
    const listed = await server.call('GET', '/api/keys', user.access_token);
    expect(listed.body.keys[0].revoked_at).toEqual(expect.any(String));
  });

  it('refuses keys beyond the owner (scopes, bases: 403), keys minted with a key (403) and bad input (400)', async () => {
    const user = await signedInUser(server, 'narrow', { allowed_bases: [DEMO_BASE] });
    const admin = await server.call('POST', '/api/keys', user.access_token, { name: 'x', scopes: ['admin'] });
    expectProblem(admin, 403);
    expect(admin.body.detail).toContain('admin');
    const bases = await server.call('POST', '/api/keys', user.access_token, {
      name: 'x',
      scopes: ['tools:read'],
      bases: [DEMO_BASE, ARCHIVE_BASE],
    });
    expectProblem(bases, 403);
    expect(bases.body.detail).toContain(ARCHIVE_BASE);
    // '*' for a user with a list of bases means "all of mine", not more.
    const mine = await createKey(server, user.access_token, { scopes: ['tools:write'], bases: '*' });
    await withClient(mcpClient(server, mine.key), async (client) => {
      expect(await listedBases(client)).toEqual([DEMO_BASE]);
    });

    const minted = await server.call('POST', '/api/keys', mine.key, {
      name: 'child',
      scopes: ['tools:read'],
    });
    expectProblem(minted, 403);
    expect((await server.call('GET', '/api/keys', user.access_token)).body.keys).toHaveLength(1);
    // Nor can a key change the password or end every sign-in.
    expectProblem(
      await server.call('POST', '/api/auth/password', mine.key, {
        current_password: 'whatever it is',
        new_password: 'some other passphrase',
      }),
      403,
    );

    const bad = await server.call('POST', '/api/keys', user.access_token, {
      name: '',
      scopes: ['superpowers'],
    });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual(['name', 'scopes.0']);
    // Server keys have no account to hang a personal key on.
    expectProblem(
      await server.call('POST', '/api/keys', server.serverKey, { name: 'x', scopes: ['tools:read'] }),
      403,
    );
  });

  it('MCP: list_bases shows only allowed bases; a tool on another base is isError and the sandbox gets no request', async () => {
    const user = await signedInUser(server, 'bases', { allowed_bases: [DEMO_BASE] });
    await withClient(mcpClient(server, user.access_token), async (client) => {
      expect(await listedBases(client)).toEqual([DEMO_BASE]);
      const demo = await tablesOf(client, DEMO_BASE);
      expect(demo.isError, toolText(demo)).toBeFalsy();

      const before = sandboxRequests(server, ARCHIVE_BASE);
      const denied = await tablesOf(client, ARCHIVE_BASE);
      expect(denied.isError).toBe(true);
      expect(toolText(denied)).toMatch(new RegExp(`no access to base ${ARCHIVE_BASE}`));
      const records = (await client.callTool({
        name: 'get_records',
        arguments: { base_id: ARCHIVE_BASE, table_id: 'Projects', max_records: 1 },
      })) as CallToolResult;
      expect(records.isError).toBe(true);
      const write = (await client.callTool({
        name: 'create_record',
        arguments: { base_id: ARCHIVE_BASE, table_id: 'Projects', fields: { Name: 'Sneaky' } },
      })) as CallToolResult;
      expect(write.isError).toBe(true);
      expect(sandboxRequests(server, ARCHIVE_BASE)).toBe(before);
    });

    // A key narrows further: a '*' user's key for one base sees that base only.
    const wide = await signedInUser(server, 'bases-wide');
    const archiveKey = await createKey(server, wide.access_token, {
      scopes: ['tools:read'],
      bases: [ARCHIVE_BASE],
    });
    await withClient(mcpClient(server, archiveKey.key), async (client) => {
      expect(await listedBases(client)).toEqual([ARCHIVE_BASE]);
      const before = sandboxRequests(server, DEMO_BASE);
      expect((await tablesOf(client, DEMO_BASE)).isError).toBe(true);
      expect(sandboxRequests(server, DEMO_BASE)).toBe(before);
    });
  });

  it('a tools:read key sees no writing tool in tools/list and its write calls are refused', async () => {
    const user = await signedInUser(server, 'reader');
    const writer = await createKey(server, user.access_token, { scopes: ['tools:write'] });
    const reader = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const writing = await withClient(mcpClient(server, writer.key), async (client) =>
      (await client.listTools()).tools
        .filter((t) => t.annotations?.readOnlyHint === false)
        .map((t) => t.name),
    );
    expect(writing).toContain('create_record');
    await withClient(mcpClient(server, reader.key), async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('get_records');
      expect(names.filter((name) => writing.includes(name))).toEqual([]);
      const before = sandboxRequests(server, DEMO_BASE);
      const write = (await client.callTool({
        name: 'create_record',
        arguments: { base_id: DEMO_BASE, table_id: 'Projects', fields: { Name: 'Sneaky' } },
      })) as CallToolResult;
      expect(write.isError).toBe(true);
      expect(sandboxRequests(server, DEMO_BASE)).toBe(before);
    });
  });

  it('an admin’s change of allowed_bases takes effect on the next request (new sessions, /api)', async () => {
    const user = await signedInUser(server, 'patched');
    const key = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    await withClient(mcpClient(server, key.key), async (client) => {
      expect(await listedBases(client)).toEqual([ARCHIVE_BASE, DEMO_BASE]);
    });
    const patched = await server.call('PATCH', `/api/users/${user.user.id}`, server.serverKey, {
      allowed_bases: [ARCHIVE_BASE],
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.allowed_bases).toEqual([ARCHIVE_BASE]);
    const profile = await server.call('GET', '/api/auth/profile', user.access_token);
    expect(profile.body.allowed_bases).toEqual([ARCHIVE_BASE]);
    for (const credential of [user.access_token, key.key]) {
      await withClient(mcpClient(server, credential), async (client) => {
        expect(await listedBases(client)).toEqual([ARCHIVE_BASE]);
        const before = sandboxRequests(server, DEMO_BASE);
        expect((await tablesOf(client, DEMO_BASE)).isError).toBe(true);
        expect(sandboxRequests(server, DEMO_BASE)).toBe(before);
      });
    }
  });

  it('an admin’s change of allowed_bases also binds an MCP session opened before it', async () => {
    const user = await signedInUser(server, 'patched-open');
    const open = await mcpClient(server, user.access_token);
    try {
      expect(await listedBases(open)).toEqual([ARCHIVE_BASE, DEMO_BASE]);
      expect((await tablesOf(open, DEMO_BASE)).isError).toBeFalsy();
      const patched = await server.call('PATCH', `/api/users/${user.user.id}`, server.serverKey, {
        allowed_bases: [ARCHIVE_BASE],
      });
      expect(patched.status, patched.text).toBe(200);
      // The same session's next request: the old grant must be gone.
      const before = sandboxRequests(server, DEMO_BASE);
      const stale = await tablesOf(open, DEMO_BASE);
      expect(stale.isError, 'an MCP session opened before the change still reached the base').toBe(true);
      expect(sandboxRequests(server, DEMO_BASE)).toBe(before);
      expect(await listedBases(open)).toEqual([ARCHIVE_BASE]);
    } finally {
      await open.close();
    }
  });

  it('legacy SSE accepts a personal key, with the same base limits', async () => {
    const user = await signedInUser(server, 'sse', { allowed_bases: [DEMO_BASE] });
    const key = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const client = new Client({ name: 'platform-sse', version: '1.0.0' });
    await client.connect(
      new SSEClientTransport(new URL(`${server.url}/sse`), {
        requestInit: { headers: { Authorization: `Bearer ${key.key}` } },
      }),
    );
    try {
      expect(await listedBases(client)).toEqual([DEMO_BASE]);
      const before = sandboxRequests(server, ARCHIVE_BASE);
      expect((await tablesOf(client, ARCHIVE_BASE)).isError).toBe(true);
      expect(sandboxRequests(server, ARCHIVE_BASE)).toBe(before);
    } finally {
      await client.close();
    }
    const refused = await fetch(`${server.url}/sse`, {
      headers: { Authorization: `Bearer pyu_${'0'.repeat(64)}` },
    });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
  });

  it('a key stops working at its expires_at', async () => {
    const user = await signedInUser(server, 'expiring');
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const key = await createKey(server, user.access_token, { scopes: ['tools:read'], expires_at: expiresAt });
    expect(key.expires_at).toBe(expiresAt);
    expect((await server.call('GET', '/api/auth/verify', key.key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 200));
    expectProblem(await server.call('GET', '/api/auth/verify', key.key), 401);
    const past = await server.call('POST', '/api/keys', user.access_token, {
      name: 'old',
      scopes: ['tools:read'],
      expires_at: new Date(Date.now() - 60_000).toISOString(),
    });
    expectProblem(past, 400);
    expect(past.body.errors[0].field).toBe('expires_at');
  });

  it('an admin’s key without the admin scope is no admin; with it, it is', async () => {
    const admin = await signedInUser(server, 'key-admin', { role: 'admin' });
    const plain = await createKey(server, admin.access_token, { scopes: ['tools:write'] });
    expectProblem(await server.call('GET', '/api/users', plain.key), 403);
    const adminKey = await createKey(server, admin.access_token, { scopes: ['admin'] });
    expect((await server.call('GET', '/api/users', adminKey.key)).status).toBe(200);
    // An admin-only key does not read Airtable (no tools scope).
    await withClient(mcpClient(server, adminKey.key), async (client) => {
      // No tools at all: tools/list is empty or not offered.
      const names = await client.listTools().then(
        (list) => list.tools.map((t) => t.name),
        () => [] as string[],
      );
      expect(names).not.toContain('get_records');
      const call = await client
        .callTool({ name: 'get_records', arguments: { base_id: DEMO_BASE, table_id: 'Projects' } })
        .then(
          (result) => (result as CallToolResult).isError,
          () => true,
        );
      expect(call).toBe(true);
    });
    // Demoted (another admin exists now), the key loses admin on its next request.
    const other = await signedInUser(server, 'key-admin-2', { role: 'admin' });
    const demoted = await server.call('PATCH', `/api/users/${admin.user.id}`, other.access_token, {
      role: 'member',
    });
    expect(demoted.status, demoted.text).toBe(200);
    expectProblem(await server.call('GET', '/api/users', adminKey.key), 403);
  });

  it('an open MCP session ends with logout-all (access token) and with disabling (key)', async () => {
    const user = await signedInUser(server, 'session-end');
    const key = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const byToken = await mcpClient(server, user.access_token);
    const byKey = await mcpClient(server, key.key);
    try {
      expect((await tablesOf(byToken, DEMO_BASE)).isError).toBeFalsy();
      expect((await tablesOf(byKey, DEMO_BASE)).isError).toBeFalsy();
      expect((await server.call('POST', '/api/auth/logout-all', user.access_token)).status).toBe(204);
      await expect(tablesOf(byToken, DEMO_BASE)).rejects.toThrow(/401|revoked|Unauthorized/i);
      // A key is not a sign-in: logout-all leaves it working…
      expect((await tablesOf(byKey, DEMO_BASE)).isError).toBeFalsy();
      // …disabling the account does not.
      await server.call('PATCH', `/api/users/${user.user.id}`, server.serverKey, { disabled: true });
      await expect(tablesOf(byKey, DEMO_BASE)).rejects.toThrow(/403|disabled|Forbidden/i);
    } finally {
      await byToken.close().catch(() => {});
      await byKey.close().catch(() => {});
    }
  });

  it('a disabled user: sign-in 403 after the right password, keys 403 on /api and /mcp; enabled again, it works', async () => {
    const user = await signedInUser(server, 'disabled');
    const key = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const disabled = await server.call('PATCH', `/api/users/${user.user.id}`, server.serverKey, {
      disabled: true,
    });
    expect(disabled.body).toMatchObject({ disabled: true, disabled_at: expect.any(String) });
    const signIn = await server.call('POST', '/api/auth/login', undefined, {
      email: user.email,
      password: 'violet tractor under moonlight',
    });
    expectProblem(signIn, 403);
    expectProblem(
      await server.call('POST', '/api/auth/login', undefined, {
        email: user.email,
        password: 'wrong password',
      }),
      401,
    );
    expectProblem(await server.call('GET', '/api/auth/verify', key.key), 403);
    // Disabling ended the sign-in: the access token and the refresh token are refused.
    expect([401, 403]).toContain((await server.call('GET', '/api/auth/verify', user.access_token)).status);
    expect([401, 403]).toContain(
      (await server.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token }))
        .status,
    );
    await expect(mcpClient(server, key.key)).rejects.toThrow(/403|disabled|Forbidden/i);

    await server.call('PATCH', `/api/users/${user.user.id}`, server.serverKey, { disabled: false });
    expect((await server.call('GET', '/api/auth/verify', key.key)).status).toBe(200);
    await login(server, user.email);
  });

  it('admin routes: the last active admin cannot be demoted (409); unknown user 404; members 403', async () => {
    // A server of its own: other tests here make admins.
    const server = await startPlatform();
    onTestFinished(() => server.close());
    const admin = await signedInUser(server, 'only-admin', { role: 'admin' });
    const listed = await server.call('GET', '/api/users', server.serverKey);
    const admins = listed.body.users.filter((u: Json) => u.role === 'admin' && !u.disabled);
    expect(admins).toHaveLength(1);
    expectProblem(
      await server.call('PATCH', `/api/users/${admin.user.id}`, admin.access_token, { role: 'member' }),
      409,
    );
    expectProblem(
      await server.call('PATCH', `/api/users/${admin.user.id}`, server.serverKey, { disabled: true }),
      409,
    );
    expectProblem(
      await server.call('PATCH', '/api/users/usr_nobody', server.serverKey, { disabled: true }),
      404,
    );
    expectProblem(await server.call('DELETE', '/api/users/usr_nobody', server.serverKey), 404);
    expectProblem(await server.call('DELETE', `/api/users/${admin.user.id}`, server.serverKey), 409);
    expect((await server.call('GET', '/api/auth/verify', admin.access_token)).status).toBe(200);
    const bad = await server.call('PATCH', `/api/users/${admin.user.id}`, server.serverKey, {
      allowed_bases: ['not-a-base'],
    });
    expectProblem(bad, 400);
    expect(bad.body.errors[0].field).toMatch(/^allowed_bases/);
    const member = await signedInUser(server, 'member');
    expectProblem(
      await server.call('PATCH', `/api/users/${member.user.id}`, member.access_token, { role: 'admin' }),
      403,
    );
  });
});

describe('/api/execute-tool with base permissions (platform + orchestrator)', () => {
  let server: PlatformServer;
  beforeAll(async () => {
    server = await startPlatform({}, [orchestratorModule]);
  });
  afterAll(() => server?.close());

  it('runs a tool on an allowed base; a read-only key’s write is refused with nothing sent', async () => {
    const user = await signedInUser(server, 'exec', { allowed_bases: [DEMO_BASE] });
    const ok = await server.call('POST', '/api/execute-tool', user.access_token, {
      tool_name: 'list_tables',
      arguments: { base_id: DEMO_BASE },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ tool: 'list_tables', is_error: false });
    const reader = await createKey(server, user.access_token, { scopes: ['tools:read'] });
    const demoBefore = sandboxRequests(server, DEMO_BASE);
    const write = await server.call('POST', '/api/execute-tool', reader.key, {
      tool_name: 'create_record',
      arguments: { base_id: DEMO_BASE, table_id: 'Projects', fields: { Name: 'Sneaky' } },
    });
    expect(write.status === 403 || write.body?.is_error === true, write.text).toBe(true);
    expect(sandboxRequests(server, DEMO_BASE)).toBe(demoBefore);
  });

  it('answers 403 problem+json for a base the caller may not use, sending nothing to the sandbox', async () => {
    const user = await signedInUser(server, 'exec-denied', { allowed_bases: [DEMO_BASE] });
    const before = sandboxRequests(server, ARCHIVE_BASE);
    const denied = await server.call('POST', '/api/execute-tool', user.access_token, {
      tool_name: 'list_tables',
      arguments: { base_id: ARCHIVE_BASE },
    });
    expectProblem(denied, 403);
    expect(denied.body.detail).toContain(ARCHIVE_BASE);
    expect(sandboxRequests(server, ARCHIVE_BASE)).toBe(before);
  });
});
