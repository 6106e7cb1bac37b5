/**
 * Open MCP sessions of both HTTP transports. A session owns its transport
 * and its MCP server; it ends when the client deletes it, its stream closes,
 * it sits idle too long, or the process shuts down, and in every case both
 * are closed, so nothing leaks.
 */

import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import type { Principal } from '../../app/principal.js';
import type { Logger } from '../../logger.js';

export type SessionKind = 'streamable' | 'sse';

interface ClosableTransport {
  close(): Promise<void>;
}

export interface Session {
  id: string;
  kind: SessionKind;
  transport: ClosableTransport;
  server: McpServer;
  /** The API key (its id) that opened the session; only that key may use it. */
  keyId?: string;
  /** The principal of the session's latest request (its calls run as this). */
  principal?: Principal;
  lastSeen: number;
  /** Requests of this session being handled right now; an active session never expires. */
  inflight: number;
}

export interface SessionRegistryOptions {
  maxSessions: number;
  /** Open sessions one API key may hold, so one client cannot take them all; default maxSessions. */
  maxSessionsPerKey?: number;
  idleMs: number;
  logger: Logger;
  /** Told about sessions opening and closing (to persist them). */
  onOpen?: (session: Session) => void;
  onClose?: (id: string) => void;
}

export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #closing = new Set<string>();
  #sweeper?: NodeJS.Timeout;

  constructor(private readonly options: SessionRegistryOptions) {}

  get size(): number {
    return this.#sessions.size;
  }

  counts(): Record<SessionKind, number> {
    const counts = { streamable: 0, sse: 0 };
    for (const session of this.#sessions.values()) counts[session.kind]++;
    return counts;
  }

  isFull(): boolean {
    return this.#sessions.size >= this.options.maxSessions;
  }

  /** Whether this key already holds its share of sessions (never for unauthenticated servers). */
  isFullFor(keyId: string | undefined): boolean {
    const cap = this.options.maxSessionsPerKey;
    if (keyId === undefined || cap === undefined) return false;
    let held = 0;
    for (const session of this.#sessions.values()) if (session.keyId === keyId) held++;
    return held >= cap;
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  add(session: Omit<Session, 'lastSeen' | 'inflight'>): Session {
    const entry = { ...session, lastSeen: Date.now(), inflight: 0 };
    this.#sessions.set(session.id, entry);
    this.options.logger.debug({ session: session.id, kind: session.kind }, 'session opened');
    this.options.onOpen?.(entry);
    return entry;
  }

  /** Mark a request of the session as running until the returned function is called. */
  begin(session: Session): () => void {
    session.inflight++;
    session.lastSeen = Date.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      session.inflight--;
      session.lastSeen = Date.now();
    };
  }

  /** Forget a session whose transport already closed (its onclose fired). */
  forget(id: string): void {
    if (!this.#sessions.delete(id)) return;
    this.options.logger.debug({ session: id }, 'session closed');
    this.options.onClose?.(id);
  }

  /** Close a session's transport and server and forget it. Safe to call twice. */
  async close(id: string, reason: string): Promise<void> {
    const session = this.#sessions.get(id);
    if (!session || this.#closing.has(id)) return;
    this.#closing.add(id);
    try {
      await session.transport.close().catch(() => {});
      await session.server.close().catch(() => {});
    } finally {
      this.#closing.delete(id);
      if (this.#sessions.delete(id)) {
        this.options.logger.debug({ session: id, reason }, 'session closed');
        this.options.onClose?.(id);
      }
    }
  }

  /** Close sessions idle for longer than idleMs, periodically, without keeping the process alive. */
  startSweeping(): void {
    const every = Math.max(250, Math.min(this.options.idleMs / 2, 60_000));
    this.#sweeper = setInterval(() => void this.sweep(), every);
    this.#sweeper.unref();
  }

  async sweep(now = Date.now()): Promise<number> {
    const idle = [...this.#sessions.values()].filter(
      (s) => s.inflight === 0 && now - s.lastSeen > this.options.idleMs,
    );
    await Promise.all(idle.map((s) => this.close(s.id, 'idle')));
    return idle.length;
  }

  async closeAll(reason: string): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all([...this.#sessions.keys()].map((id) => this.close(id, reason)));
  }
}
