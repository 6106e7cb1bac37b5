/**
 * EventStores for Streamable HTTP resumability: a client that reconnects with
 * Last-Event-ID gets the events it missed, on any replica that holds its
 * session (Redis) or on this process (memory).
 *
 * Event ids are `<streamId>_<position>`, so the stream is found from the id
 * alone; the position is a Redis stream entry id (`<ms>-<seq>`) or, for the
 * in-process store, a plain counter, which tells the two apart. Replay sends
 * the events after that position still kept, in order, even if the event
 * itself has been trimmed.
 *
 * The SDK names every session's standalone GET stream `_GET_stream`, so one
 * store shared by all sessions would replay one session's notifications to
 * another. Give each transport `store.forSession(sessionId)`: its streams are
 * invisible to every other session's view.
 */
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage, type SharedRedis } from './connection.js';

type Send = (eventId: EventId, message: JSONRPCMessage) => Promise<void>;

const REDIS_POSITION = /^\d+-\d+$/;
const MEMORY_POSITION = /^\d+$/;

function splitEventId(eventId: EventId): { streamId: StreamId; position: string } | undefined {
  const at = eventId.lastIndexOf('_');
  if (at < 1) return undefined;
  return { streamId: eventId.slice(0, at), position: eventId.slice(at + 1) };
}

export interface MemoryEventStoreOptions {
  maxEventsPerStream?: number;
  /** Streams kept at most; the least recently written go first. */
  maxStreams?: number;
  /** A stream not written for this long is dropped (like the Redis store's EXPIRE). */
  ttlSeconds?: number;
}

interface StreamLog {
  events: { seq: number; message: JSONRPCMessage }[];
  writtenAt: number;
}

/** The storage behind a MemoryEventStore and all its session views. */
class MemoryStreams {
  #streams = new Map<string, StreamLog>();
  #seq = 0;

  constructor(
    private readonly maxEventsPerStream: number,
    private readonly maxStreams: number,
    private readonly ttlMs: number,
  ) {}

  append(key: string, message: JSONRPCMessage): number {
    const now = Date.now();
    const log = this.#live(key, now) ?? { events: [], writtenAt: now };
    this.#streams.delete(key); // re-inserted last: Map order is least recently written first
    log.writtenAt = now;
    log.events.push({ seq: ++this.#seq, message });
    if (log.events.length > this.maxEventsPerStream)
      log.events.splice(0, log.events.length - this.maxEventsPerStream);
    this.#streams.set(key, log);
    this.#evict(now);
    return this.#seq;
  }

  after(key: string, seq: number): StreamLog['events'] {
    return (this.#live(key, Date.now())?.events ?? []).filter((e) => e.seq > seq);
  }

  #live(key: string, now: number): StreamLog | undefined {
    const log = this.#streams.get(key);
    if (log && now - log.writtenAt > this.ttlMs) {
      this.#streams.delete(key);
      return undefined;
    }
    return log;
  }

  #evict(now: number): void {
    for (const [key, log] of this.#streams) {
      if (this.#streams.size <= this.maxStreams && now - log.writtenAt <= this.ttlMs) break;
      this.#streams.delete(key);
    }
  }
}

/** Bounded in-process EventStore: per-stream and stream-count limits plus an idle TTL. */
export class MemoryEventStore implements EventStore {
  #streams: MemoryStreams;
  #scope = '';

  constructor(options: MemoryEventStoreOptions = {}) {
    this.#streams = new MemoryStreams(
      options.maxEventsPerStream ?? 1000,
      options.maxStreams ?? 1000,
      (options.ttlSeconds ?? 3600) * 1000,
    );
  }

  /** A view for one session, sharing this store's storage and bounds. */
  forSession(sessionId: string): MemoryEventStore {
    const view = new MemoryEventStore();
    view.#streams = this.#streams;
    view.#scope = sessionId;
    return view;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return `${streamId}_${this.#streams.append(this.#key(streamId), message)}`;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parts = splitEventId(eventId);
    return parts && MEMORY_POSITION.test(parts.position) ? parts.streamId : undefined;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: Send }): Promise<StreamId> {
    const parts = splitEventId(lastEventId);
    // Malformed: nothing to replay ('' as in the SDK's example store; the SDK rejects such ids earlier).
    if (!parts || !MEMORY_POSITION.test(parts.position)) return '';
    for (const { seq, message } of this.#streams.after(this.#key(parts.streamId), Number(parts.position))) {
      await send(`${parts.streamId}_${seq}`, message);
    }
    return parts.streamId;
  }

  #key(streamId: StreamId): string {
    return `${this.#scope}/${streamId}`;
  }
}

export interface RedisEventStoreOptions {
  /** Approximate (MAXLEN ~) per stream: Redis trims whole nodes, so a stream may briefly hold somewhat more. */
  maxEventsPerStream?: number;
  /** Idle streams expire after this long. */
  ttlSeconds?: number;
}

/** Entries read per XRANGE while replaying. */
const REPLAY_BATCH = 100;

/**
 * EventStore in Redis Streams, one stream per (session, SDK stream). While
 * Redis is unavailable, events go to an in-process store instead, so live
 * delivery never stops; those can only be replayed on this replica.
 */
export class RedisEventStore implements EventStore {
  readonly #redis: SharedRedis;
  readonly #maxEvents: number;
  readonly #ttlSeconds: number;
  #local: MemoryEventStore;
  #scope = '';

  constructor(redis: SharedRedis, options: RedisEventStoreOptions = {}) {
    this.#redis = redis;
    this.#maxEvents = options.maxEventsPerStream ?? 1000;
    this.#ttlSeconds = options.ttlSeconds ?? 3600;
    this.#local = new MemoryEventStore({ maxEventsPerStream: this.#maxEvents, ttlSeconds: this.#ttlSeconds });
  }

  /** A view for one session: its streams are keyed under the session, invisible to other sessions. */
  forSession(sessionId: string): RedisEventStore {
    const view = new RedisEventStore(this.#redis, {
      maxEventsPerStream: this.#maxEvents,
      ttlSeconds: this.#ttlSeconds,
    });
    view.#local = this.#local.forSession(sessionId);
    view.#scope = sessionId;
    return view;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    if (this.#redis.status === 'ok') {
      try {
        const position = await this.#append(streamId, message);
        this.#redis.reportCommandOk();
        return `${streamId}_${position}`;
      } catch (err) {
        this.#redis.reportCommandError(err);
      }
    }
    return this.#local.storeEvent(streamId, message);
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parts = splitEventId(eventId);
    if (parts && REDIS_POSITION.test(parts.position)) return parts.streamId;
    return this.#local.getStreamIdForEventId(eventId);
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: Send }): Promise<StreamId> {
    const parts = splitEventId(lastEventId);
    if (!parts || !REDIS_POSITION.test(parts.position))
      return this.#local.replayEventsAfter(lastEventId, { send });
    let start = `(${parts.position}`; // exclusive: the events after it
    for (;;) {
      const entries = await this.#redis.client.xrange(
        this.#key(parts.streamId),
        start,
        '+',
        'COUNT',
        REPLAY_BATCH,
      );
      for (const [position, fields] of entries) {
        await send(`${parts.streamId}_${position}`, JSON.parse(fields[1] ?? '{}') as JSONRPCMessage);
        start = `(${position}`;
      }
      if (entries.length < REPLAY_BATCH) return parts.streamId;
    }
  }

  /** XADD and refresh the expiry in one transaction; returns the entry id. */
  async #append(streamId: StreamId, message: JSONRPCMessage): Promise<string> {
    const key = this.#key(streamId);
    const replies = await this.#redis.client
      .multi()
      .xadd(key, 'MAXLEN', '~', this.#maxEvents, '*', 'm', JSON.stringify(message))
      .expire(key, this.#ttlSeconds)
      .exec();
    const [err, position] = replies?.[0] ?? [new Error('transaction aborted'), null];
    if (err) throw err;
    if (typeof position !== 'string') throw new Error(`unexpected XADD reply: ${errorMessage(position)}`);
    return position;
  }

  #key(streamId: StreamId): string {
    return `${this.#redis.keyPrefix}es:${this.#scope}/${streamId}`;
  }
}
