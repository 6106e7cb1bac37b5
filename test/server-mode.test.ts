/**
 * Server mode with real services: two server processes (replicas) sharing
 * PostgreSQL and Redis in front of one rate-limited sandbox, and what
 * happens when Redis or PostgreSQL goes away and comes back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { postMcpInitialize } from './helpers/mcp-http.js';
import { freePort } from './helpers/ports.js';
import { requireService } from './helpers/services.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_PORT = Number(new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379);

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function redisReachable(): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis({
    port: REDIS_PORT,
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
  });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

const services = {
  postgres: await requireService('PostgreSQL', () => adminQuery('select 1')),
  redis: await requireService('Redis', redisReachable),
};

interface Replica {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/cli.js', '--transport', 'http', '--port', String(port)], {
    env: { ...process.env, LOG_LEVEL: 'warn', RATE_LIMIT_RPM: '0', DATA_DIR: ':memory:', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('MCP over HTTP')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}:\n${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function connect(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'replica-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { 'X-API-Key': key } },
    }),
  );
  return client;
}

async function readTasks(client: Client): Promise<CallToolResult> {
  return (await client.callTool({
    name: 'get_records',
    arguments: { table_id: 'Tasks', max_records: 5 },
  })) as CallToolResult;
}

describe.runIf(services.postgres && services.redis)('two replicas sharing PostgreSQL and Redis', () => {
  const database = `amk_srv_${Math.random().toString(36).slice(2, 10)}`;
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/${database}`;
  const redisPrefix = `amk_srv_${Math.random().toString(36).slice(2, 10)}:`;
  let sandbox: SandboxHandle;
  let store: Store;
  let key: string;
  let redisProxy: TcpProxy;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    await adminQuery(`create database ${database}`);
    sandbox = await startSandbox({ rateLimit: { perBasePerSec: 5, perTokenPerSec: 50, penaltyMs: 30_000 } });
    store = await openStore({ databaseUrl });
    key = (await store.createApiKey({ name: 'replica test' })).key;
    redisProxy = await startTcpProxy(REDIS_PORT);
    const env = {
      AIRTABLE_TOKEN: sandbox.token,
      AIRTABLE_BASE_URL: sandbox.url,
      AIRTABLE_BASE: sandbox.baseIds[0]!,
      DATABASE_URL: databaseUrl,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      REDIS_KEY_PREFIX: redisPrefix,
    };
    replicas = await Promise.all([startReplica(env), startReplica(env)]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await store?.close();
    await sandbox?.stop();
    await redisProxy?.close();
    await adminQuery(`drop database if exists ${database} with (force)`).catch(() => {});
  });

  it('keeps both replicas together under 5 requests per second per base, with no 429', async () => {
    const clients = await Promise.all(replicas.flatMap((r) => [connect(r.url, key), connect(r.url, key)]));
    const before = sandbox.stats().bases[sandbox.baseIds[0]!]?.rateLimited ?? 0;
    // 40 reads, 20 through each replica, all at once: about 8 seconds at 5 per second.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => readTasks(clients[i % clients.length]!)),
    );
    for (const result of results) expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const stats = sandbox.stats().bases[sandbox.baseIds[0]!]!;
    expect(stats.maxPerSecond).toBeLessThanOrEqual(5);
    expect(stats.rateLimited - before).toBe(0);
    await Promise.all(clients.map((c) => c.close()));
  }, 60_000);

  it('accepts a key created in the store on every replica, and a revocation everywhere', async () => {
    const created = await store.createApiKey({ name: 'second key' });
    for (const replica of replicas) {
      const client = await connect(replica.url, created.key);
      expect((await readTasks(client)).isError).toBeFalsy();
      await client.close();
    }
    await store.revokeApiKey(created.record.id);
    for (const replica of replicas) {
      const res = await fetch(`${replica.url}/mcp`, {
        method: 'POST',
        headers: { 'X-API-Key': created.key },
      });
      expect(res.status).toBe(401);
    }
  }, 30_000);

  it('writes usage records from both replicas to the shared database', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // usage is flushed once a second
    const summary = await store.usageSummary();
    const reads = summary.filter((row) => row.tool === 'get_records' && row.outcome === 'ok');
    expect(reads.reduce((sum, row) => sum + row.count, 0)).toBeGreaterThanOrEqual(42);
  });

  it('keeps serving when Redis goes away, reports degraded, and recovers', async () => {
    const client = await connect(replicas[0]!.url, key);
    redisProxy.cut();
    try {
      for (let i = 0; i < 3; i++) expect((await readTasks(client)).isError).toBeFalsy();
      await expect
        .poll(async () => (await (await fetch(`${replicas[0]!.url}/health`)).json()) as { status: string }, {
          timeout: 40_000,
          interval: 500,
        })
        .toMatchObject({ status: 'degraded' });
      const health = (await (await fetch(`${replicas[0]!.url}/health`)).json()) as {
        components: Record<string, { status: string }>;
      };
      expect(health.components.redis?.status).toBe('down');
      const metrics = await (
        await fetch(`${replicas[0]!.url}/metrics`, { headers: { 'X-API-Key': key } })
      ).text();
      expect(metrics).toMatch(/airtable_mcp_redis_up 0/);
    } finally {
      redisProxy.restore();
    }
    await expect
      .poll(
        async () =>
          ((
            await (await fetch(`${replicas[0]!.url}/metrics`, { headers: { 'X-API-Key': key } })).text()
          ).match(/airtable_mcp_redis_up (\d)/) ?? [])[1],
        {
          timeout: 30_000,
          interval: 500,
        },
      )
      .toBe('1');
    expect((await readTasks(client)).isError).toBeFalsy();
    await client.close();
  }, 90_000);
});

describe.runIf(services.postgres)('PostgreSQL failures', () => {
  it('refuses to start with one clear line when PostgreSQL is unreachable', async () => {
    const port = await freePort();
    const result = spawnSync(
      process.execPath,
      ['dist/cli.js', '--transport', 'http', '--port', '0', '--sandbox'],
      {
        env: {
          ...process.env,
          DATABASE_URL: `postgres://someone:secret@127.0.0.1:${port}/nowhere`,
          LOG_LEVEL: 'silent',
        },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/PostgreSQL|database/i);
    expect(result.stderr).not.toContain('secret');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('answers 503 while PostgreSQL is lost and recovers without a restart', async () => {
    const database = `amk_lost_${Math.random().toString(36).slice(2, 10)}`;
    await adminQuery(`create database ${database}`);
    const proxy = await startTcpProxy(5432);
    const databaseUrl = `postgres://postgres@127.0.0.1:${proxy.port}/${database}`;
    const setup = await openStore({ databaseUrl });
    const { key } = await setup.createApiKey({ name: 'lost db' });
    await setup.close();
    const replica = await startReplica({
      DATABASE_URL: databaseUrl,
      AIRTABLE_SANDBOX: '1',
      SANDBOX_RATE_LIMIT: '0',
    });
    try {
      const init = () => postMcpInitialize(`${replica.url}/mcp`, { 'X-API-Key': key }, 't');
      expect((await init()).status).toBe(200);
      proxy.cut();
      const lost = await init();
      expect(lost.status).toBe(503);
      expect(((await lost.json()) as { error: { message: string } }).error.message).toMatch(/database/i);
      proxy.restore();
      await expect.poll(async () => (await init()).status, { timeout: 20_000, interval: 500 }).toBe(200);
      // A database that stops answering without closing the connection: 503 after the query timeout, not a hang.
      proxy.blackhole();
      const started = Date.now();
      expect((await init()).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(8_000);
      proxy.restore();
      await expect.poll(async () => (await init()).status, { timeout: 20_000, interval: 500 }).toBe(200);
    } finally {
      await replica.stop();
      await proxy.close();
      await adminQuery(`drop database if exists ${database} with (force)`).catch(() => {});
    }
  }, 60_000);
});
