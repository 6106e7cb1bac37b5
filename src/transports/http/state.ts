/**
 * Server mode: the state a hosted server keeps beyond one request. A single
 * process needs only a SQLite file; replicas share PostgreSQL (DATABASE_URL)
 * and Redis (REDIS_URL). Without Redis, in-process equivalents serve, and
 * while Redis is unreachable they stand in for it.
 */
import { Gauge } from 'prom-client';
import type { RateLimiter } from '../../airtable/index.js';
import { limiterFor, limitRules } from '../../app/airtable.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import {
  createMemoryCache,
  createMemoryPubSub,
  createRedisCache,
  createRedisLimiter,
  createRedisPubSub,
  MemoryEventStore,
  type PubSub,
  RedisEventStore,
  type ResponseCache,
  type SessionEventStores,
  SharedRedis,
} from '../../redis/index.js';
import { type OpenStoreOptions, openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { UsageRecorder } from '../../store/usage-recorder.js';
import type { ComponentCheck } from './health.js';
import type { Metrics } from './metrics.js';

export interface ServerState {
  store: Store;
  redis?: SharedRedis;
  limiter: RateLimiter;
  cache: ResponseCache;
  /** Per-session event stores (see McpRoutesOptions.eventStores); a closed session's events are dropped. */
  eventStores: SessionEventStores;
  pubsub: PubSub;
  usage: UsageRecorder;
  /** Health checks of storage (critical: nothing authenticates without it) and Redis (degraded: fallbacks serve). */
  components: ComponentCheck[];
  close(): Promise<void>;
}

function storeOptions(config: Config, moduleMigrations?: OpenStoreOptions['moduleMigrations']) {
  const { dataDir, databaseUrl, poolSize } = config.store;
  if (databaseUrl) return { databaseUrl, poolSize, moduleMigrations };
  return dataDir === ':memory:'
    ? { sqliteFile: ':memory:', moduleMigrations }
    : { dataDir, moduleMigrations };
}

async function sharedParts(config: Config, logger: Logger) {
  const { redisUrl } = config.store;
  if (!redisUrl) {
    return {
      limiter: limiterFor(config),
      cache: createMemoryCache(),
      eventStores: new MemoryEventStore({ ttlSeconds: config.http.streamResumeSeconds }),
      pubsub: createMemoryPubSub(),
    };
  }
  const redis = new SharedRedis({ url: redisUrl, logger, keyPrefix: config.store.redisKeyPrefix });
  await redis.connect();
  return {
    redis,
    limiter: createRedisLimiter({ redis, ...limitRules(config) }),
    cache: createRedisCache({ redis }),
    eventStores: new RedisEventStore(redis, { ttlSeconds: config.http.streamResumeSeconds }),
    pubsub: createRedisPubSub(redis),
  };
}

function registerGauges(metrics: Metrics, redis: SharedRedis | undefined, limiter: RateLimiter): void {
  if (!redis) return;
  new Gauge({
    name: 'airtable_mcp_redis_up',
    help: '1 when Redis is reachable, 0 while the in-process fallbacks serve',
    registers: [metrics.registry],
    collect() {
      this.set(redis.status === 'ok' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'airtable_mcp_rate_limiter_fallback',
    help: '1 while the Airtable rate limiter runs in-process because Redis is unreachable',
    registers: [metrics.registry],
    collect() {
      this.set((limiter as { usingFallback?: boolean }).usingFallback ? 1 : 0);
    },
  });
}

export async function openServerState(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  moduleMigrations?: OpenStoreOptions['moduleMigrations'],
): Promise<ServerState> {
  const store = await openStore(storeOptions(config, moduleMigrations));
  const parts = await sharedParts(config, logger).catch(async (error) => {
    await store.close();
    throw error;
  });
  registerGauges(metrics, parts.redis, parts.limiter);
  const usage = new UsageRecorder({ store, logger });
  usage.start();
  const components: ComponentCheck[] = [{ name: 'storage', critical: true, check: () => store.ping() }];
  if (parts.redis) {
    const redis = parts.redis;
    components.push({ name: 'redis', critical: false, check: (signal) => redis.ping(signal) });
  }
  logger.info(
    { storage: `${store.dialect} ${store.location}`, redis: Boolean(parts.redis) },
    'server state ready',
  );
  return {
    store,
    ...parts,
    usage,
    components,
    async close() {
      await usage.stop().catch(() => {});
      await parts.pubsub.close().catch(() => {});
      await parts.redis?.close().catch(() => {});
      await store.close().catch(() => {});
    },
  };
}
