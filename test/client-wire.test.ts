/**
 * The client's built-in transport (node:http with keep-alive) against a real
 * HTTP server on loopback: compressed answers, connection reuse, and how
 * resets, refused connections, cut-off answers and aborts are classified.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AirtableClient, type AirtableClientOptions, createMemoryLimiter } from '../src/airtable/index.js';
import { failure } from './helpers/airtable-failure.js';
import { freePort } from './helpers/ports.js';

const BASE = 'appAAAAAAAAAAAAAA';
const REC = 'recAAAAAAAAAAAAAA';
const RECORD = { id: REC, createdTime: '2026-01-01T00:00:00.000Z', fields: { Name: 'ü x' } };

type Handler = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;

interface Scripted {
  url: string;
  requests: { method: string; headers: IncomingMessage['headers']; body: string }[];
  connections: number;
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function serve(handler: Handler): Promise<Scripted> {
  const scripted: Scripted = { url: '', requests: [], connections: 0, server: undefined as never };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      scripted.requests.push({ method: req.method ?? '', headers: req.headers, body });
      handler(req, res, body, scripted.requests.length);
    });
  });
  server.on('connection', () => scripted.connections++);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push(server);
  scripted.server = server;
  scripted.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return scripted;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function client(baseUrl: string, options: Partial<AirtableClientOptions> = {}) {
  return new AirtableClient({
    token: 'patTEST.secretvalue123',
    baseUrl,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 5,
    // Airtable's 5 requests/s per base would make these tests slow, not better.
    limiter: createMemoryLimiter({
      perBase: { limit: 1000, windowMs: 1000 },
      perToken: { limit: 1000, windowMs: 1000 },
    }),
    ...options,
  });
}

describe('built-in transport', () => {
  it('asks for and decodes gzip and brotli answers, and sends JSON bodies with their length', async () => {
    const s = await serve((_req, res, _body, n) => {
      const raw = Buffer.from(JSON.stringify(RECORD));
      const [encoding, encoded] = n % 2 ? ['gzip', gzipSync(raw)] : ['br', brotliCompressSync(raw)];
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(encoded);
    });
    const c = client(s.url);
    expect(await c.getRecord(BASE, 'T', REC)).toEqual(RECORD);
    expect(await c.createRecord(BASE, 'T', { Name: 'ü x' })).toEqual(RECORD);
    expect(s.requests[0]!.headers['accept-encoding']).toBe('gzip, br');
    expect(s.requests[0]!.headers.authorization).toBe('Bearer patTEST.secretvalue123');
    const create = s.requests[1]!;
    expect(create.method).toBe('POST');
    expect(create.headers['content-type']).toBe('application/json');
    expect(Number(create.headers['content-length'])).toBe(Buffer.byteLength(create.body));
    expect(JSON.parse(create.body)).toEqual({ fields: { Name: 'ü x' } });
  });

  it('reuses one connection for sequential requests, and recovers when the server closes idle ones', async () => {
    const s = await serve((_req, res) => json(res, 200, RECORD));
    const c = client(s.url);
    for (let i = 0; i < 20; i++) await c.getRecord(BASE, 'T', REC);
    expect(s.connections).toBe(1);
    s.server.closeIdleConnections(); // as a server whose keep-alive timeout passed
    await new Promise((done) => setTimeout(done, 50));
    expect(await c.createRecord(BASE, 'T', { Name: 'x' })).toEqual(RECORD);
    expect(s.connections).toBe(2);
    expect(s.requests).toHaveLength(21);
  });

  it('retries a read after a reset, but never resends a create that was read by the server', async () => {
    const s = await serve((req, res, _body, n) => {
      if (n === 1 || req.method === 'POST') return void req.socket.destroy();
      json(res, 200, RECORD);
    });
    const c = client(s.url);
    expect(await c.getRecord(BASE, 'T', REC)).toEqual(RECORD);
    expect(s.requests).toHaveLength(2);
    const e = await failure(c.createRecord(BASE, 'T', { Name: 'x' }));
    expect(e.kind).toBe('ambiguous');
    expect(s.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('retries an answer cut off mid-body', async () => {
    const s = await serve((req, res, _body, n) => {
      if (n > 1) return json(res, 200, RECORD);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"id":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    expect(await client(s.url).getRecord(BASE, 'T', REC)).toEqual(RECORD);
    expect(s.requests).toHaveLength(2);
  });

  it('a refused connection is safe to resend, even for a create', async () => {
    const port = await freePort();
    const events: string[] = [];
    const c = client(`http://127.0.0.1:${port}`, { maxRetries: 2, onEvent: (e) => events.push(e.type) });
    const e = await failure(c.createRecord(BASE, 'T', { Name: 'x' }));
    expect(e.kind).toBe('network');
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(events.filter((t) => t === 'request')).toHaveLength(3);
  });

  it('aborts an attempt in flight promptly', async () => {
    const s = await serve(() => {}); // never answers
    const c = client(s.url);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const e = await failure(c.getRecord(BASE, 'T', REC, { signal: controller.signal }));
    expect(e.kind).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('times out a silent server per attempt, then fails with kind timeout', async () => {
    const s = await serve(() => {});
    const c = client(s.url, { timeoutMs: 100, maxRetries: 1 });
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e.kind).toBe('timeout');
    expect(s.requests).toHaveLength(2);
  });

  it('a header value it cannot send fails as invalid input, without a request or the token in the text', async () => {
    const s = await serve((_req, res) => json(res, 200, RECORD));
    const c = client(s.url, { userAgent: 'bad\nagent' });
    const e = await failure(c.getRecord(BASE, 'T', REC));
    expect(e.kind).toBe('invalid_argument');
    expect(e.message).not.toContain('secretvalue123');
    expect(s.requests).toHaveLength(0);
  });
});
