/**
 * What replicas share through Redis (REDIS_URL), each with an in-process
 * equivalent used without Redis and while it is unreachable.
 */

export { createMemoryCache, createRedisCache, MAX_CACHE_TTL_MS, type ResponseCache } from './cache.js';
export { type RedisStatus, SharedRedis, type SharedRedisOptions } from './connection.js';
export {
  DEFAULT_MAX_BYTES as DEFAULT_EVENT_STORE_MAX_BYTES,
  MemoryEventStore,
  type MemoryEventStoreOptions,
  RedisEventStore,
  type RedisEventStoreOptions,
  type SessionEventStores,
} from './event-store.js';
export { createRedisLimiter, type RedisLimiterOptions, type SharedRateLimiter } from './limiter.js';
export { createMemoryPubSub, createRedisPubSub, type PubSub } from './pubsub.js';
