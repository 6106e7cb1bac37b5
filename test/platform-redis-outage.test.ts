/**
 * Sign-in while Redis (the shared throttle counters) is lost: through a
 * TCP proxy in front of the real Redis, cut and black-holed. Sign-in keeps
 * answering within seconds and the lockout keeps working (on the store).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  email,
  expectProblem,
  PASSWORD,
  type PlatformServer,
  startPlatform,
} from './helpers/platform-http.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const TARGET = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

describe('sign-in with Redis lost', () => {
  let proxy: TcpProxy;
  let server: PlatformServer;
  const prefix = `amk-outage-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    proxy = await startTcpProxy(Number(TARGET.port || 6379), TARGET.hostname);
    server = await startPlatform({
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_KEY_PREFIX: prefix,
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_ADDRESS_LIMIT: '1000',
    });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

  it('counts failed sign-ins in Redis while it is up', async () => {
    const address = email('outage-up');
    await createUser(server, { email: address });
    expectProblem(await login(address, 'wrong password'), 401);
    const redis = new Redis(TARGET.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}*login*`);
      expect(keys.length).toBeGreaterThanOrEqual(1);
    } finally {
      await redis.quit();
    }
  });

  const login = (address: string, password: string) =>
    server.call('POST', '/api/auth/login', undefined, { email: address, password });

  for (const failure of ['cut', 'blackhole'] as const) {
    it(`keeps signing in and throttling when Redis is ${failure === 'cut' ? 'cut off' : 'silent'}`, async () => {
      const address = email(`outage-${failure}`);
      await createUser(server, { email: address });
      expect((await login(address, PASSWORD)).status).toBe(200);

      proxy[failure]();
      try {
        const ok = await timed(() => login(address, PASSWORD));
        expect(ok.value.status, ok.value.text).toBe(200);
        expect(ok.ms, 'sign-in waited on the lost Redis').toBeLessThan(6_000);
        for (let i = 0; i < 3; i++) expectProblem(await login(address, 'wrong password'), 401);
        const locked = await timed(() => login(address, PASSWORD));
        expectProblem(locked.value, 429);
        expect(locked.ms).toBeLessThan(6_000);
      } finally {
        proxy.restore();
      }
    });
  }
});
