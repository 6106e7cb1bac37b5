/**
 * Publish/subscribe for what replicas must tell each other (cache
 * invalidations, sessions closed elsewhere). Messages are JSON; every handler
 * gets its own parsed copy, in both implementations.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SharedRedis } from './connection.js';

export interface PubSub {
  publish(channel: string, message: unknown): Promise<void>;
  /** Resolves to the function that ends this subscription. */
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

type Handler = (message: unknown) => void;

class Handlers {
  #byChannel = new Map<string, Set<Handler>>();

  constructor(private readonly logger?: Logger) {}

  /** True when this is the channel's first handler. */
  add(channel: string, handler: Handler): boolean {
    const set = this.#byChannel.get(channel) ?? new Set();
    set.add(handler);
    this.#byChannel.set(channel, set);
    return set.size === 1;
  }

  /** True when that was the channel's last handler. */
  remove(channel: string, handler: Handler): boolean {
    const set = this.#byChannel.get(channel);
    if (!set?.delete(handler) || set.size > 0) return false;
    this.#byChannel.delete(channel);
    return true;
  }

  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  clear(): void {
    this.#byChannel.clear();
  }

  deliver(channel: string, json: string): void {
    for (const handler of [...(this.#byChannel.get(channel) ?? [])]) {
      try {
        handler(JSON.parse(json));
      } catch (err) {
        // One failing handler must not keep the message from the others.
        this.logger?.error({ err, channel }, 'pubsub: handler failed');
      }
    }
  }
}

function toJson(message: unknown): string {
  return JSON.stringify(message) ?? 'null';
}

export function createMemoryPubSub(options: { logger?: Logger } = {}): PubSub {
  const handlers = new Handlers(options.logger);
  return {
    async publish(channel, message) {
      const json = toJson(message);
      // Delivered later, as over Redis: a handler never runs inside its publisher's call.
      queueMicrotask(() => handlers.deliver(channel, json));
    },
    async subscribe(channel, handler) {
      handlers.add(channel, handler);
      return async () => {
        handlers.remove(channel, handler);
      };
    },
    async close() {
      handlers.clear();
    },
  };
}

/**
 * Channel reference counts per subscriber connection: several PubSub instances
 * may share one, and a channel is unsubscribed only when none needs it.
 */
const channelCounts = new WeakMap<Redis, Map<string, number>>();

function countsFor(sub: Redis): Map<string, number> {
  let counts = channelCounts.get(sub);
  if (!counts) {
    const created = new Map<string, number>();
    counts = created;
    channelCounts.set(sub, created);
    // Re-subscribe everything wanted after every (re)connect, including channels whose SUBSCRIBE failed.
    sub.on('ready', () => {
      if (created.size > 0) sub.subscribe(...created.keys()).catch(() => {});
    });
  }
  return counts;
}

/**
 * Channels are `${keyPrefix}${channel}`. While Redis is down, publish()
 * delivers to this process's own subscribers only (other replicas cannot be
 * reached) and subscriptions take effect when it returns.
 */
export function createRedisPubSub(redis: SharedRedis): PubSub {
  const prefix = redis.keyPrefix;
  const handlers = new Handlers(redis.logger);
  let sub: Redis | undefined;
  const onMessage = (channel: string, json: string) => {
    if (channel.startsWith(prefix)) handlers.deliver(channel.slice(prefix.length), json);
  };

  const connection = (): Redis => {
    if (!sub) {
      sub = redis.subscriber();
      sub.on('message', onMessage);
    }
    return sub;
  };

  const retain = async (channel: string): Promise<void> => {
    const conn = connection();
    const counts = countsFor(conn);
    const count = (counts.get(channel) ?? 0) + 1;
    counts.set(channel, count);
    if (count > 1) return;
    const subscribed = conn.subscribe(channel);
    // Queued while offline and re-sent on 'ready': only wait when Redis can answer now.
    if (redis.status === 'ok') await subscribed.catch((err: unknown) => redis.reportCommandError(err));
    else subscribed.catch(() => {});
  };

  const release = async (channel: string): Promise<void> => {
    if (!sub) return;
    const counts = countsFor(sub);
    const count = (counts.get(channel) ?? 1) - 1;
    if (count > 0) {
      counts.set(channel, count);
      return;
    }
    counts.delete(channel);
    await sub.unsubscribe(channel).catch(() => {});
  };

  return {
    async publish(channel, message) {
      const json = toJson(message);
      if (redis.status === 'ok') {
        try {
          await redis.client.publish(prefix + channel, json);
          return;
        } catch (err) {
          redis.reportCommandError(err);
        }
      }
      queueMicrotask(() => handlers.deliver(channel, json));
    },
    async subscribe(channel, handler) {
      if (handlers.add(channel, handler)) await retain(prefix + channel);
      return async () => {
        if (handlers.remove(channel, handler)) await release(prefix + channel);
      };
    },
    async close() {
      const channels = handlers.channels();
      handlers.clear();
      await Promise.all(channels.map((channel) => release(prefix + channel)));
      sub?.off('message', onMessage);
    },
  };
}
