/**
 * The platform across replicas and restarts: two servers on one
 * PostgreSQL database (with and without Redis) share the generated JWT
 * secret, sign-ins, revocations and the sign-in throttle; the secret
 * survives a restart; a too-short JWT_SECRET stops the start; the
 * retention job deletes usage records past ANALYTICS_RETENTION_DAYS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import platformModule from '../src/platform/index.js';
import { startAppServer } from './helpers/app-server.js';
import { dbOf, eventually } from './helpers/platform-db.js';
import {
  createKey,
  createUser,
  email,
  expectProblem,
  type Json,
  login,
  PASSWORD,
  type PlatformServer,
  signedInUser,
  startPlatform,
} from './helpers/platform-http.js';
import { testDatabases } from './helpers/postgres.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const databases = testDatabases();
afterAll(() => databases.dropAll());

describe.each([
  ['PostgreSQL only', false],
  ['PostgreSQL and Redis', true],
] as const)('two replicas (%s)', (_name, withRedis) => {
  let a: PlatformServer;
  let b: PlatformServer;

  beforeAll(async () => {
    const shared = {
      DATABASE_URL: await databases.create('amk_platform_replicas'),
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_ADDRESS_LIMIT: '1000',
      ...(withRedis ? { REDIS_URL, REDIS_KEY_PREFIX: `amk-test-${randomBytes(4).toString('hex')}:` } : {}),
    };
    a = await startPlatform(shared);
    // The same server key on both, as a deployment would configure them.
    b = await startPlatform({ ...shared, API_KEY: a.serverKey });
    b.serverKey = a.serverKey;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('an access token from one replica works on the other (one generated secret, kept in the database)', async () => {
    const user = await signedInUser(a, 'replica');
    const res = await b.call('GET', '/api/auth/verify', user.access_token);
    expect(res.status, res.text).toBe(200);
    expect(res.body.user.id).toBe(user.user.id);
  });

  it('revocations reach the other replica at once: refresh reuse, logout-all, a revoked key', async () => {
    const user = await signedInUser(a, 'revocations');
    const next = await b.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token });
    expect(next.status).toBe(200);
    const after = await a.call('POST', '/api/auth/refresh', undefined, {
      refresh_token: next.body.refresh_token,
    });
    expect(after.status).toBe(200);
    // The first token again, on the other replica: the family dies everywhere.
    expectProblem(
      await b.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token }),
      401,
    );
    expectProblem(
      await a.call('POST', '/api/auth/refresh', undefined, { refresh_token: after.body.refresh_token }),
      401,
    );

    const fresh = await login(b, user.email);
    const key = await createKey(a, fresh.access_token, { scopes: ['tools:read'] });
    expect((await b.call('GET', '/api/auth/verify', key.key)).status).toBe(200);
    expect((await a.call('DELETE', `/api/keys/${key.id}`, fresh.access_token)).status).toBe(204);
    expectProblem(await b.call('GET', '/api/auth/verify', key.key), 401);

    expect((await b.call('POST', '/api/auth/logout-all', fresh.access_token)).status).toBe(204);
    expectProblem(await a.call('GET', '/api/auth/verify', fresh.access_token), 401);
  });

  it('counts failed sign-ins across replicas: the lockout holds on both', async () => {
    const address = email('spread');
    await createUser(a, { email: address });
    const fail = (server: PlatformServer) =>
      server.call('POST', '/api/auth/login', undefined, { email: address, password: 'wrong password' });
    expectProblem(await fail(a), 401);
    expectProblem(await fail(b), 401);
    expectProblem(await fail(a), 401);
    for (const server of [a, b]) {
      const locked = await server.call('POST', '/api/auth/login', undefined, {
        email: address,
        password: PASSWORD,
      });
      expectProblem(locked, 429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('restarts and configuration', () => {
  it('keeps the generated signing secret: an access token outlives a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amk-platform-restart-'));
    try {
      const first = await startPlatform({ DATA_DIR: dataDir });
      const user = await signedInUser(first, 'restart');
      await first.close();
      const second = await startPlatform({ DATA_DIR: dataDir });
      try {
        const res = await second.call('GET', '/api/auth/verify', user.access_token);
        expect(res.status, res.text).toBe(200);
        expect(
          (await second.call('POST', '/api/auth/refresh', undefined, { refresh_token: user.refresh_token }))
            .status,
        ).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a given JWT_SECRET signs the tokens: another secret on restart refuses them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amk-platform-secret-'));
    try {
      const first = await startPlatform({
        DATA_DIR: dataDir,
        JWT_SECRET: 'first-secret-of-enough-length-0123456789',
      });
      const user = await signedInUser(first, 'secret');
      await first.close();
      const second = await startPlatform({
        DATA_DIR: dataDir,
        JWT_SECRET: 'second-secret-of-enough-length-987654321',
      });
      try {
        expectProblem(await second.call('GET', '/api/auth/verify', user.access_token), 401);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a JWT_SECRET shorter than 32 characters, naming the option and not echoing it', async () => {
    const error = await startAppServer({
      modules: [platformModule],
      env: { API_KEY: 'pya_' + 'ab'.repeat(32), JWT_SECRET: 'too-short-secret' },
    }).then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(error, 'the server started').toBeInstanceOf(Error);
    // The option's name (config key or env var) and the rule.
    expect(error!.message).toMatch(/JWT_SECRET|jwtSecret/);
    expect(error!.message).toMatch(/32/);
    expect(error!.message).not.toContain('too-short-secret');
  });

  it('the retention job deletes usage records older than ANALYTICS_RETENTION_DAYS when it runs', async () => {
    const url = await databases.create('amk_platform_retention');
    const first = await startPlatform({ DATABASE_URL: url });
    const day = 86_400_000;
    const row = (ageDays: number, tool: string) => ({
      at: new Date(Date.now() - ageDays * day).toISOString(),
      tool,
      name: tool,
      kind: 'tool',
      outcome: 'ok',
      duration_ms: 5,
      key_id: null,
      session_id: null,
      principal_kind: 'user',
      principal_id: 'usr_retention',
      user_id: 'usr_retention',
      source: 'mcp',
      airtable_requests: 1,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: 0,
      model: null,
      detail: null,
    });
    await dbOf(first)
      .insertInto('usage_records')
      .values([row(100, 'old_tool'), row(40, 'middle_tool'), row(10, 'recent_tool')])
      .execute();
    // The job runs hourly on whichever replica holds the lease (this one took it at its start):
    // free the lease, as an hour passing would, so the next start runs the job.
    await dbOf(first).deleteFrom('platform_leases').execute();
    await first.close();
    const second = await startPlatform({ DATABASE_URL: url, ANALYTICS_RETENTION_DAYS: '30' });
    try {
      const left = await eventually(async () => {
        const tools = (await dbOf(second).selectFrom('usage_records').select('tool').execute()).map(
          (r: Json) => r.tool,
        );
        expect(tools).not.toContain('old_tool');
        expect(tools).not.toContain('middle_tool');
        return tools;
      });
      expect(left).toEqual(['recent_tool']);
    } finally {
      await second.close();
    }
  });
});
