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
 * invisible to every other session's view. When a session ends, call
 * `store.forgetSession(sessionId)` so its events (tool results can be large)
 * are not kept until the TTL.
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
  /**
   * Total size kept, over all streams and sessions, each event counted as the
   * length of its JSON; past it the oldest events go first. Default
   * {@link DEFAULT_MAX_BYTES}. Tool results can be megabytes each, so the count
   * limits alone would allow gigabytes.
   */
  maxBytes?: number;
}

/** Default {@link MemoryEventStoreOptions.maxBytes}: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** What the HTTP transport needs: a view per session, and a way to drop a closed session's events. */
export interface SessionEventStores {
  forSession(sessionId: string): EventStore;
  /** Drops every stream of the session: none of its events can be replayed afterwards. Never rejects. */
  forgetSession(sessionId: string): Promise<void>;
}

interface StoredEvent {
  seq: number;
  /** The message as JSON: its length is what the byte bound counts, and replay hands out fresh copies. */
  json: string;
}

interface StreamLog {
  scope: string;
  events: StoredEvent[];
  bytes: number;
  writtenAt: number;
}

/** The storage behind a MemoryEventStore and all its session views. */
class MemoryStreams {
  #streams = new Map<string, StreamLog>();
  #seq = 0;
  #bytes = 0;

  constructor(
    private readonly maxEventsPerStream: number,
    private readonly maxStreams: number,
    private readonly ttlMs: number,
    private readonly maxBytes: number,
  ) {}

  /** Total JSON length of everything kept (for tests and metrics). */
  get bytes(): number {
    return this.#bytes;
  }

  append(scope: string, key: string, message: JSONRPCMessage): number {
    const now = Date.now();
    const log = this.#live(key, now) ?? { scope, events: [], bytes: 0, writtenAt: now };
    this.#streams.delete(key); // re-inserted last: Map order is least recently written first
    log.writtenAt = now;
    const json = JSON.stringify(message) ?? 'null';
    log.events.push({ seq: ++this.#seq, json });
    log.bytes += json.length;
    this.#bytes += json.length;
    if (log.events.length > this.maxEventsPerStream)
      this.#trim(log, log.events.length - this.maxEventsPerStream);
    this.#streams.set(key, log);
    this.#evict(now);
    return this.#seq;
  }

  after(key: string, seq: number): { seq: number; message: JSONRPCMessage }[] {
    return (this.#live(key, Date.now())?.events ?? [])
      .filter((e) => e.seq > seq)
      .map((e) => ({ seq: e.seq, message: JSON.parse(e.json) as JSONRPCMessage }));
  }

  forgetScope(scope: string): void {
    for (const [key, log] of this.#streams) if (log.scope === scope) this.#drop(key, log);
  }

  #live(key: string, now: number): StreamLog | undefined {
    const log = this.#streams.get(key);
    if (log && now - log.writtenAt > this.ttlMs) {
      this.#drop(key, log);
      return undefined;
    }
    return log;
  }

  #evict(now: number): void {
    for (const [key, log] of this.#streams) {
      if (this.#streams.size <= this.maxStreams && now - log.writtenAt <= this.ttlMs) break;
      this.#drop(key, log);
    }
    while (this.#bytes > this.maxBytes) this.#dropOldestEvent();
  }

  /** Drops the oldest event kept (the smallest sequence number): a scan of the streams, at most maxStreams. */
  #dropOldestEvent(): void {
    let oldest: [string, StreamLog] | undefined;
    for (const entry of this.#streams) {
      const first = entry[1].events[0];
      if (first && (!oldest || first.seq < (oldest[1].events[0]?.seq ?? Number.POSITIVE_INFINITY)))
        oldest = entry;
    }
    if (!oldest) {
      this.#bytes = 0; // unreachable: bytes are only counted while some stream holds them
      return;
    }
    const [key, log] = oldest;
    this.#trim(log, 1);
    if (log.events.length === 0) this.#drop(key, log);
  }

  #trim(log: StreamLog, count: number): void {
    for (const event of log.events.splice(0, count)) {
      log.bytes -= event.json.length;
      this.#bytes -= event.json.length;
    }
  }

  #drop(key: string, log: StreamLog): void {
    if (this.#streams.get(key) === log) this.#streams.delete(key);
    this.#bytes -= log.bytes;
    log.bytes = 0;
    log.events = [];
  }
}

/** Bounded in-process EventStore: per-stream, stream-count and total-size limits plus an idle TTL. */
export class MemoryEventStore implements EventStore, SessionEventStores {
  #streams: MemoryStreams;
  #scope = '';

  constructor(options: MemoryEventStoreOptions = {}) {
    this.#streams = new MemoryStreams(
      options.maxEventsPerStream ?? 1000,
      options.maxStreams ?? 1000,
      (options.ttlSeconds ?? 3600) * 1000,
      options.maxBytes ?? DEFAULT_MAX_BYTES,
    );
  }

  /** Total JSON length of the events kept, over all sessions. */
  get bytes(): number {
    return this.#streams.bytes;
  }

  /** A view for one session, sharing this store's storage and bounds. */
  forSession(sessionId: string): MemoryEventStore {
    const view = new MemoryEventStore();
    view.#streams = this.#streams;
    view.#scope = sessionId;
    return view;
  }

  /** Drops every stream of the session (on any view: the storage is shared). */
  async forgetSession(sessionId: string): Promise<void> {
    this.#streams.forgetScope(sessionId);
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return `${streamId}_${this.#streams.append(this.#scope, this.#key(streamId), message)}`;
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
  /** maxBytes of the in-process store used while Redis is unavailable; default {@link DEFAULT_MAX_BYTES}. */
  localMaxBytes?: number;
  /**
   * Events larger than this (JSON length) are not kept in full, so one big tool result cannot fill
   * Redis: a response is kept as an error telling the client to send the request again, anything
   * else is skipped on replay. Default 1 MiB.
   */
  maxEventBytes?: number;
}

/**
 * What Redis keeps of an event: the JSON itself, or for an oversized one a
 * small stand-in at the same position, so replay order stays intact.
 */
function storable(message: JSONRPCMessage, maxBytes: number): string {
  const json = JSON.stringify(message);
  if (json.length <= maxBytes) return json;
  if ('id' in message && ('result' in message || 'error' in message)) {
    const error = {
      code: -32000,
      message: 'This response was too large to keep for resumption; send the request again',
    };
    return JSON.stringify({ jsonrpc: '2.0', id: message.id, error });
  }
  return '';
}

/** Entries read per XRANGE while replaying. */
const REPLAY_BATCH = 100;
/** Keys per UNLINK in forgetSession. */
const FORGET_BATCH = 500;

/**
 * EventStore in Redis Streams, one stream per (session, SDK stream). While
 * Redis is unavailable, events go to an in-process store instead, so live
 * delivery never stops; those can only be replayed on this replica.
 *
 * Each session's stream keys are also listed in a set (`es-keys:<session>`,
 * same TTL), so forgetSession can delete them without a SCAN.
 */
export class RedisEventStore implements EventStore, SessionEventStores {
  readonly #redis: SharedRedis;
  readonly #options: Required<RedisEventStoreOptions>;
  #local: MemoryEventStore;
  #scope = '';

  constructor(redis: SharedRedis, options: RedisEventStoreOptions = {}) {
    this.#redis = redis;
    this.#options = {
      maxEventsPerStream: options.maxEventsPerStream ?? 1000,
      ttlSeconds: options.ttlSeconds ?? 3600,
      localMaxBytes: options.localMaxBytes ?? DEFAULT_MAX_BYTES,
      maxEventBytes: options.maxEventBytes ?? 1024 * 1024,
    };
    this.#local = new MemoryEventStore({
      maxEventsPerStream: this.#options.maxEventsPerStream,
      ttlSeconds: this.#options.ttlSeconds,
      maxBytes: this.#options.localMaxBytes,
    });
  }

  /** A view for one session: its streams are keyed under the session, invisible to other sessions. */
  forSession(sessionId: string): RedisEventStore {
    const view = new RedisEventStore(this.#redis, this.#options);
    view.#local = this.#local.forSession(sessionId);
    view.#scope = sessionId;
    return view;
  }

  /**
   * Deletes every stream of the session, in Redis and in the in-process
   * fallback (on any view). Never rejects: when Redis cannot be reached the
   * streams are left to expire after ttlSeconds.
   */
  async forgetSession(sessionId: string): Promise<void> {
    await this.#local.forgetSession(sessionId);
    if (this.#redis.status !== 'ok') return;
    const client = this.#redis.client;
    const index = this.#sessionKey(sessionId);
    try {
      const keys = await client.smembers(index);
      // UNLINK frees big streams in the background. A stream created between the two commands is left to its TTL.
      for (let at = 0; at < keys.length; at += FORGET_BATCH)
        await client.unlink(...keys.slice(at, at + FORGET_BATCH));
      await client.unlink(index);
      this.#redis.reportCommandOk();
    } catch (err) {
      this.#redis.reportCommandError(err);
    }
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    if (this.#redis.status === 'ok') {
      try {
        const position = await this.#append(streamId, storable(message, this.#options.maxEventBytes));
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
        start = `(${position}`;
        if (!fields[1]) continue; // an oversized event that was not kept
        await send(`${parts.streamId}_${position}`, JSON.parse(fields[1]) as JSONRPCMessage);
      }
      if (entries.length < REPLAY_BATCH) return parts.streamId;
    }
  }

  /** XADD, list the stream under its session and refresh both expiries, in one transaction; returns the entry id. */
  async #append(streamId: StreamId, json: string): Promise<string> {
    const key = this.#key(streamId);
    const index = this.#sessionKey(this.#scope);
    const { maxEventsPerStream, ttlSeconds } = this.#options;
    const replies = await this.#redis.client
      .multi()
      .xadd(key, 'MAXLEN', '~', maxEventsPerStream, '*', 'm', json)
      .expire(key, ttlSeconds)
      .sadd(index, key)
      .expire(index, ttlSeconds)
      .exec();
    const [err, position] = replies?.[0] ?? [new Error('transaction aborted'), null];
    if (err) throw err;
    if (typeof position !== 'string') throw new Error(`unexpected XADD reply: ${errorMessage(position)}`);
    return position;
  }

  #key(streamId: StreamId): string {
    return `${this.#redis.keyPrefix}es:${this.#scope}/${streamId}`;
  }

  #sessionKey(sessionId: string): string {
    return `${this.#redis.keyPrefix}es-keys:${sessionId}`;
  }
}
