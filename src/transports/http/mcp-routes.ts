/**
 * The MCP endpoints: Streamable HTTP at /mcp (stateful sessions, or
 * stateless) and the legacy HTTP+SSE transport at /sse + /messages. Each
 * session gets a fresh MCP server from the factory (one server per transport).
 */
import { randomUUID } from 'node:crypto';
import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import {
  type EventStore,
  StreamableHTTPServerTransport,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { type Request, type Response, Router } from 'express';
import { ANONYMOUS, type Principal } from '../../app/principal.js';
import type { Logger } from '../../logger.js';
import type { Session, SessionKind, SessionRegistry } from './sessions.js';

/** Who a server is built for: usage records carry the key and session. */
export interface McpServerContext {
  /** Who opened the session (set by authentication): the tools it lists. */
  principal: Principal;
  /**
   * Who a call runs as: the principal of the request carrying it. Same id as
   * `principal` (sessions are bound to it), but read per request, so a changed
   * grant (an admin narrowing a user's bases) applies to open sessions at once.
   */
  currentPrincipal: () => Principal;
  keyId?: string;
  sessionId: () => string | undefined;
}

function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

export interface McpRoutesOptions {
  registry: SessionRegistry;
  createMcpServer: (context: McpServerContext) => McpServer;
  /**
   * Keeps a session's stream events so a client reconnecting with Last-Event-ID
   * resumes it. Every session gets its own view: the SDK names every session's
   * standalone stream alike, so a shared store would replay one session's
   * events to another.
   */
  eventStores?: { forSession(sessionId: string): EventStore };
  stateless: boolean;
  /** Prefix the SSE transport puts in its `endpoint` event, e.g. '/airtable'. */
  basePath: string;
  logger: Logger;
  /** Interval of `: ping` comments on legacy SSE streams, so proxies keep them open. */
  sseKeepAliveMs?: number;
  /** Requests being answered right now; legacy SSE requests count until their response is sent on the stream. */
  inflight?: { count: number };
}

/** JSON-RPC error body: what MCP clients expect from the MCP endpoints. */
function rpcError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

const sessionHeader = (req: Request) => req.header('mcp-session-id');

/**
 * The session a request names, checked: 400 when none is named, 404 when it
 * is unknown, expired or belongs to another API key (the client then starts
 * a new one), 400 when it belongs to the other transport.
 */
function findSession(
  registry: SessionRegistry,
  id: string | undefined,
  kind: SessionKind,
  res: Response,
): Session | undefined {
  if (!id) {
    rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required (initialize first)');
    return undefined;
  }
  const session = registry.get(id);
  if (!session || session.keyId !== res.locals.keyId) {
    rpcError(res, 404, -32001, 'Session not found: it expired or was closed; initialize a new session');
    return undefined;
  }
  if (session.kind !== kind) {
    rpcError(res, 400, -32000, `Bad Request: session ${id} uses the ${session.kind} transport`);
    return undefined;
  }
  session.principal = principalOf(res);
  return session;
}

function refuseWhenFull(registry: SessionRegistry, res: Response): boolean {
  if (registry.isFullFor(res.locals.keyId)) {
    res.setHeader('Retry-After', '30');
    rpcError(
      res,
      429,
      -32000,
      'Too many open sessions for this API key; end some (DELETE /mcp) or let them expire',
    );
    return true;
  }
  if (!registry.isFull()) return false;
  res.setHeader('Retry-After', '30');
  rpcError(res, 503, -32000, `Too many open sessions (${registry.size}); try again later`);
  return true;
}

/** Run a request of a session, counting it as in flight until the response ends. */
async function withinSession(
  registry: SessionRegistry,
  session: Session,
  res: Response,
  handle: () => Promise<void>,
) {
  res.once('close', registry.begin(session));
  await handle();
}

export function mcpRoutes(options: McpRoutesOptions): Router {
  const router = Router();
  if (options.stateless) {
    router.post('/mcp', (req, res) => handleStateless(options, req, res));
    router.all('/mcp', (_req, res) => {
      res.setHeader('Allow', 'POST');
      rpcError(res, 405, -32000, 'Method not allowed: this server is stateless; send POST requests');
    });
  } else {
    router.post('/mcp', (req, res) => handleStreamablePost(options, req, res));
    router.get('/mcp', (req, res) => handleStreamableSession(options, req, res));
    router.delete('/mcp', (req, res) => handleStreamableSession(options, req, res));
    router.all('/mcp', (_req, res) => {
      res.setHeader('Allow', 'GET, POST, DELETE');
      rpcError(res, 405, -32000, 'Method not allowed: use POST, GET or DELETE');
    });
  }
  router.get('/sse', (req, res) => openSseSession(options, req, res));
  router.post('/messages', (req, res) => handleSseMessage(options, req, res));
  return router;
}

async function handleStreamablePost(options: McpRoutesOptions, req: Request, res: Response): Promise<void> {
  const id = sessionHeader(req);
  if (id) {
    const session = findSession(options.registry, id, 'streamable', res);
    if (!session) return;
    const transport = session.transport as StreamableHTTPServerTransport;
    await withinSession(options.registry, session, res, () => transport.handleRequest(req, res, req.body));
    return;
  }
  if (Array.isArray(req.body) && req.body.some(isInitializeRequest)) {
    // A batch holding initialize would otherwise hear "initialize first": it did, but not alone.
    rpcError(res, 400, -32600, 'Bad Request: send initialize alone, not inside a JSON-RPC batch');
    return;
  }
  if (!isInitializeRequest(req.body)) {
    rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required (initialize first)');
    return;
  }
  if (refuseWhenFull(options.registry, res)) return;
  await openStreamableSession(options, req, res);
}

async function openStreamableSession(options: McpRoutesOptions, req: Request, res: Response): Promise<void> {
  const { registry } = options;
  const keyId = res.locals.keyId as string | undefined;
  const sessionId = randomUUID();
  const opener = principalOf(res);
  const server = options.createMcpServer({
    principal: opener,
    currentPrincipal: () => registry.get(sessionId)?.principal ?? opener,
    keyId,
    sessionId: () => transport.sessionId,
  });
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => sessionId,
    eventStore: options.eventStores?.forSession(sessionId),
    onsessioninitialized: (sessionId) => {
      registry.add({ id: sessionId, kind: 'streamable', transport, server, keyId, principal: opener });
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) registry.forget(transport.sessionId);
  };
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}

async function handleStreamableSession(
  options: McpRoutesOptions,
  req: Request,
  res: Response,
): Promise<void> {
  const session = findSession(options.registry, sessionHeader(req), 'streamable', res);
  if (!session) return;
  const transport = session.transport as StreamableHTTPServerTransport;
  if (req.method === 'GET') {
    // A standalone SSE stream stays open; it is not a request in flight.
    session.lastSeen = Date.now();
    await transport.handleRequest(req, res);
    return;
  }
  await transport.handleRequest(req, res);
  // The SDK answers 400 to a DELETE it refuses (e.g. an unsupported protocol version): the session lives on.
  if (res.statusCode < 300) await options.registry.close(session.id, 'deleted by client');
}

/** Stateless: a new server and transport for every request, closed when the response ends. */
async function handleStateless(options: McpRoutesOptions, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  const server = options.createMcpServer({
    principal,
    currentPrincipal: () => principal,
    keyId: res.locals.keyId,
    sessionId: () => undefined,
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.once('close', () => {
    void transport.close().catch(() => {});
    void server.close().catch(() => {});
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}

async function openSseSession(options: McpRoutesOptions, _req: Request, res: Response): Promise<void> {
  const { registry } = options;
  if (refuseWhenFull(registry, res)) return;
  // nginx and similar proxies buffer event streams unless told not to.
  res.setHeader('X-Accel-Buffering', 'no');
  const transport = new SSEServerTransport(`${options.basePath}/messages`, res);
  const opener = principalOf(res);
  const server = options.createMcpServer({
    principal: opener,
    currentPrincipal: () => registry.get(transport.sessionId)?.principal ?? opener,
    keyId: res.locals.keyId,
    sessionId: () => transport.sessionId,
  });
  const keepAlive = setInterval(() => {
    if (!res.writableEnded) res.write(': ping\n\n');
  }, options.sseKeepAliveMs ?? 15_000);
  keepAlive.unref();
  let closed = false;
  // server.close() closes the transport again, which calls onclose again: run the cleanup once.
  transport.onclose = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    registry.forget(transport.sessionId);
    void server.close().catch(() => {});
  };
  registry.add({
    id: transport.sessionId,
    kind: 'sse',
    transport,
    server,
    keyId: res.locals.keyId,
    principal: opener,
  });
  await server.connect(transport);
  if (options.inflight) countSseRequests(transport, options.inflight);
  // A client that left while its key was being checked closed the response before the transport listened for it.
  if (res.destroyed || res.writableEnded) await transport.close();
}

/**
 * Legacy SSE answers each POST with 202 at once and sends the result on the
 * stream later, so a request is in flight from its arrival until its
 * response (or error) goes out on the stream.
 */
function countSseRequests(transport: SSEServerTransport, inflight: { count: number }): void {
  const pending = new Set<string | number>();
  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('method' in message && 'id' in message && !pending.has(message.id)) {
      pending.add(message.id);
      inflight.count++;
    }
    receive?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message) => {
    try {
      await send(message);
    } finally {
      if (!('method' in message) && 'id' in message && message.id !== undefined && pending.delete(message.id))
        inflight.count--;
    }
  };
  const closed = transport.onclose;
  transport.onclose = () => {
    inflight.count -= pending.size;
    pending.clear();
    closed?.();
  };
}

async function handleSseMessage(options: McpRoutesOptions, req: Request, res: Response): Promise<void> {
  const id = typeof req.query.sessionId === 'string' ? req.query.sessionId : undefined;
  const session = findSession(options.registry, id, 'sse', res);
  if (!session) return;
  const transport = session.transport as SSEServerTransport;
  await withinSession(options.registry, session, res, () => transport.handlePostMessage(req, res, req.body));
}
