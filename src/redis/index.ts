/**
 * What replicas share through Redis (REDIS_URL), each with an in-process
 * equivalent used without Redis and while it is unreachable.
 */

export { createMemoryCache, createRedisCache, MAX_CACHE_TTL_MS, type ResponseCache } from './cache.js';
export { type RedisStatus, SharedRedis, type SharedRedisOptions } from './connection.js';
export {
  MemoryEventStore,
  type MemoryEventStoreOptions,
  RedisEventStore,
  type RedisEventStoreOptions,
} from './event-store.js';
export { createRedisLimiter, type RedisLimiterOptions, type SharedRateLimiter } from './limiter.js';
export { createMemoryPubSub, createRedisPubSub, type PubSub } from './pubsub.js';
