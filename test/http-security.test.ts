/**
 * Security middleware of the hosted HTTP mode, each in front of a tiny real Express app on loopback.
 * fetch cannot set Host (and may not forward Origin as given), so header-spoofing tests use node:http.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../src/app/network.js';
import {
  API_KEY_PATTERN,
  generateApiKey,
  keyId,
  loadApiKeys,
  runKeysGenerate,
} from '../src/store/api-keys.js';
import { apiKeyAuth } from '../src/transports/http/auth.js';
import { cors, hostAndOriginGuard, loopbackHosts } from '../src/transports/http/guard.js';
import { jsonBody, requestRateLimit, securityHeaders } from '../src/transports/http/limits.js';

interface Running {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function serve(app: Express): Promise<Running> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

/** A request with exactly the headers given, Host included. */
function raw(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        setHost: !options.headers?.host,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const echo: RequestHandler = (req, res) => {
  res.json({ ok: true, keyId: res.locals.keyId ?? null, body: req.body ?? null });
};

const KEY_A = generateApiKey();
const KEY_B = generateApiKey();

describe('API keys', () => {
  it('generates pya_ + 64 lowercase hex, unique each time', () => {
    const keys = Array.from({ length: 200 }, generateApiKey);
    for (const key of keys) expect(key).toMatch(API_KEY_PATTERN);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('derives a short, stable, non-secret key id', () => {
    expect(keyId(KEY_A)).toMatch(/^key_[0-9a-f]{12}$/);
    expect(keyId(KEY_A)).toBe(keyId(KEY_A));
    expect(keyId(KEY_A)).not.toBe(keyId(KEY_B));
    expect(KEY_A).not.toContain(keyId(KEY_A).slice(4));
  });

  it('prints one key per line for `keys generate`', () => {
    const out = new PassThrough();
    runKeysGenerate(out, 3);
    const lines = String(out.read()).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(API_KEY_PATTERN);
    expect(() => runKeysGenerate(new PassThrough(), 0)).toThrow(RangeError);
  });
});

describe('loadApiKeys', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function keysFile(content: string): string {
    const path = join(dir, `keys-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(path, content);
    return path;
  }

  it('reads API_KEY and API_KEYS (comma and/or whitespace separated)', () => {
    const C = generateApiKey();
    expect(loadApiKeys({ apiKey: `  ${KEY_A}\n` })).toEqual([KEY_A]);
    expect(loadApiKeys({ apiKeys: `${KEY_A}, ${KEY_B}\n ${C},` })).toEqual([KEY_A, KEY_B, C]);
    expect(loadApiKeys({ apiKey: '', apiKeys: ' , ' })).toEqual([]);
  });

  it('reads a keys file with comments and blank lines', () => {
    const path = keysFile(
      `# production keys\n\n${KEY_A}\r\n  ${KEY_B}   # CI runner\n#${generateApiKey()}\n`,
    );
    expect(loadApiKeys({ keysFile: path })).toEqual([KEY_A, KEY_B]);
  });

  it('deduplicates across sources, keeping first-seen order', () => {
    const path = keysFile(`${KEY_B}\n${KEY_A}\n`);
    expect(loadApiKeys({ apiKey: KEY_A, apiKeys: `${KEY_B} ${KEY_A}`, keysFile: path })).toEqual([
      KEY_A,
      KEY_B,
    ]);
  });

  it('names the source of a malformed key without echoing it', () => {
    const upper = 'pya_' + 'AB'.repeat(32);
    const short = KEY_A.slice(0, -1);
    const cases: Array<[Parameters<typeof loadApiKeys>[0], string, RegExp]> = [
      [{ apiKey: 'sk-secret-value-123' }, 'sk-secret-value-123', /^API_KEY is not a valid API key/],
      [{ apiKeys: `${KEY_A},${short}` }, short, /^API_KEYS entry 2 /],
      [{ keysFile: keysFile(`# ok\n${KEY_A}\n${upper}\n`) }, upper, /keys file ".*" line 3 /],
    ];
    for (const [sources, secret, where] of cases) {
      let message = '';
      try {
        loadApiKeys(sources);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(where);
      expect(message).toContain('"pya_" followed by 64 lowercase hex characters');
      expect(message).not.toContain(secret);
    }
  });

  it('fails on a missing keys file', () => {
    const path = join(dir, 'nope.txt');
    expect(() => loadApiKeys({ keysFile: path })).toThrow(`Cannot read API keys file "${path}" (ENOENT)`);
  });
});

describe('apiKeyAuth', () => {
  let server: Running;
  beforeAll(async () => {
    const app = express();
    app.use(apiKeyAuth({ keys: [KEY_A, KEY_B] }), echo);
    server = await serve(app);
  });
  afterAll(() => server.close());

  const challenge = 'Bearer realm="airtable-mcp-kit"';

  it('rejects a request without a key', async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(challenge);
    expect(await res.json()).toEqual({
      error: { code: 'unauthorized', message: 'Missing API key: send X-API-Key or Authorization: Bearer' },
    });
  });

  it('rejects a wrong key, including one differing only in its last character', async () => {
    const last = KEY_A.at(-1) === '0' ? '1' : '0';
    for (const key of [generateApiKey(), KEY_A.slice(0, -1) + last, KEY_A.slice(0, -1), `${KEY_A}0`, 'x']) {
      const res = await fetch(server.url, { headers: { 'X-API-Key': key } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(challenge);
      expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'Invalid API key' } });
    }
    const bearer = await fetch(server.url, { headers: { Authorization: `Bearer ${KEY_B}x` } });
    expect(bearer.status).toBe(401);
  });

  it('accepts a key in X-API-Key and sets keyId', async () => {
    const res = await fetch(server.url, { headers: { 'X-API-Key': KEY_A } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, keyId: keyId(KEY_A) });
  });

  it('accepts a key as a Bearer token (scheme case-insensitive)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await fetch(server.url, { headers: { Authorization: `${scheme} ${KEY_B}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, keyId: keyId(KEY_B) });
    }
  });

  it('treats other Authorization schemes as missing', async () => {
    const res = await fetch(server.url, { headers: { Authorization: `Basic ${btoa(`u:${KEY_A}`)}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^Missing/);
  });

  it('accepts keys the store knows, and answers 503 when the store cannot be asked', async () => {
    const stored = `pya_${'d4'.repeat(32)}`;
    let storeUp = true;
    const verify = async (key: string) => {
      if (!storeUp) throw new Error('database unreachable');
      return key === stored ? 'key_stored' : undefined;
    };
    const app = express();
    app.use(apiKeyAuth({ keys: [], verify }), echo);
    const server = await serve(app);
    try {
      const ok = await fetch(server.url, { headers: { 'X-API-Key': stored } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { keyId: string }).keyId).toBe('key_stored');
      expect((await fetch(server.url, { headers: { 'X-API-Key': KEY_A } })).status).toBe(401);
      storeUp = false;
      const down = await fetch(server.url, { headers: { 'X-API-Key': stored } });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
    } finally {
      await server.close();
    }
  });

  it('refuses an empty key list and honours a custom realm', async () => {
    expect(() => apiKeyAuth({ keys: [] })).toThrow(/needs API keys or a key store/);
    const app = express();
    app.use(apiKeyAuth({ keys: [KEY_A], realm: 'my "realm"' }), echo);
    const custom = await serve(app);
    try {
      const res = await fetch(custom.url);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="my realm"');
    } finally {
      await custom.close();
    }
  });
});

describe('loopback helpers', () => {
  it('lists loopback hosts with and without the port', () => {
    expect(loopbackHosts(3000).sort()).toEqual(
      ['localhost', 'localhost:3000', '127.0.0.1', '127.0.0.1:3000', '[::1]', '[::1]:3000'].sort(),
    );
  });

  it('recognises loopback addresses only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackAddress(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '10.0.0.1', 'localhost.evil.com', '127.0.0.1.evil.com', '::2', '']) {
      expect(isLoopbackAddress(host), host).toBe(false);
    }
  });
});

describe('hostAndOriginGuard', () => {
  let server: Running;
  beforeAll(async () => {
    const app = express();
    app.use(
      hostAndOriginGuard({
        allowedHosts: ['localhost', '127.0.0.1', 'api.example.com:8443', 'MCP.example.com'],
        allowedOrigins: ['https://app.example.com/'],
      }),
      echo,
    );
    server = await serve(app);
  });
  afterAll(() => server.close());

  const get = (headers: Record<string, string>) => raw(server.port, { headers });

  it('rejects spoofed or unlisted Host headers with 403', async () => {
    for (const host of [
      'evil.com',
      'localhost.evil.com',
      'evil.com:80',
      'api.example.com',
      'api.example.com:9999',
    ]) {
      const res = await get({ host });
      expect(res.status, host).toBe(403);
      expect(res.json()).toEqual({
        error: { code: 'forbidden', message: `Host "${host}" is not allowed; add it to the allowed hosts` },
      });
    }
  });

  it('accepts allowed hosts with and without a port, case-insensitively', async () => {
    for (const host of ['localhost', `localhost:${server.port}`, '127.0.0.1:1', 'api.example.com:8443']) {
      expect((await get({ host })).status, host).toBe(200);
    }
    expect((await get({ host: 'mcp.EXAMPLE.com:443' })).status).toBe(200);
  });

  it('rejects a foreign Origin with 403, even on a loopback Host', async () => {
    const res = await get({ host: 'localhost', origin: 'http://evil.com' });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({
      error: {
        code: 'forbidden',
        message: 'Origin "http://evil.com" is not allowed; add it to the allowed origins',
      },
    });
    expect((await get({ host: 'localhost', origin: 'null' })).status).toBe(403);
  });

  it('accepts loopback origins only when the Host is loopback', async () => {
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:6274',
      'https://[::1]:8080',
      'http://localhost',
    ]) {
      expect((await get({ host: `127.0.0.1:${server.port}`, origin })).status, origin).toBe(200);
    }
    expect((await get({ host: 'mcp.example.com', origin: 'http://localhost:5173' })).status).toBe(403);
  });

  it('accepts a listed origin (normalised) on any allowed host', async () => {
    expect((await get({ host: 'mcp.example.com', origin: 'https://app.example.com' })).status).toBe(200);
    expect((await get({ host: 'mcp.example.com', origin: 'http://app.example.com' })).status).toBe(403);
  });

  it("lets allowedHosts ['*'] opt out of the Host check but still checks Origin", async () => {
    const app = express();
    app.use(hostAndOriginGuard({ allowedHosts: ['*'], allowedOrigins: [] }), echo);
    const open = await serve(app);
    try {
      expect((await raw(open.port, { headers: { host: 'anything.example' } })).status).toBe(200);
      const withOrigin = await raw(open.port, {
        headers: { host: 'anything.example', origin: 'http://evil.com' },
      });
      expect(withOrigin.status).toBe(403);
    } finally {
      await open.close();
    }
  });
});

describe('cors', () => {
  let server: Running;
  beforeAll(async () => {
    const app = express();
    app.use(cors({ origins: ['https://app.example.com'] }), echo);
    server = await serve(app);
  });
  afterAll(() => server.close());

  const preflight = (origin: string) =>
    raw(server.port, {
      method: 'OPTIONS',
      path: '/mcp',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, mcp-session-id',
      },
    });
  const corsHeaders = (res: RawResponse) =>
    Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));

  it('answers a preflight from a listed origin with 204 and the MCP headers', async () => {
    const res = await preflight('https://app.example.com');
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers':
        'Content-Type, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-Request-Id',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });

  it('exposes the session and protocol headers on real responses', async () => {
    const res = await raw(server.port, { headers: { origin: 'https://app.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-expose-headers']).toBe(
      'Mcp-Session-Id, Mcp-Protocol-Version, X-Request-Id, Retry-After',
    );
  });

  it('sends no CORS headers to unlisted origins', async () => {
    const pre = await preflight('https://evil.com');
    expect(pre.status).toBe(204);
    expect(corsHeaders(pre)).toEqual([]);
    const res = await raw(server.port, { headers: { origin: 'https://evil.com' } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual([]);
    expect(res.headers.vary).toBe('Origin');
  });

  it("allows any origin with '*'", async () => {
    const app = express();
    app.use(cors({ origins: ['*'] }), echo);
    const open = await serve(app);
    try {
      const res = await raw(open.port, { headers: { origin: 'https://whoever.example' } });
      expect(res.headers['access-control-allow-origin']).toBe('*');
    } finally {
      await open.close();
    }
  });
});

describe('jsonBody', () => {
  let server: Running;
  beforeAll(async () => {
    const app = express();
    const fallback: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
      res.status(error.status ?? 500).json({ fallback: true });
    };
    app.post('/', jsonBody(100), echo);
    app.use(fallback);
    server = await serve(app);
  });
  afterAll(() => server.close());

  const post = (body: string, contentType = 'application/json') =>
    fetch(server.url, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('parses a JSON body within the limit', async () => {
    const res = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await post(JSON.stringify({ padding: 'x'.repeat(200) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: 'payload_too_large', message: 'Request body exceeds 100 bytes' },
    });
  });

  it('answers a JSON-RPC parse error for broken JSON', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": ');
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      jsonrpc: string;
      error: { code: number; message: string };
      id: null;
    };
    expect(body).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    expect(body.error.message).toMatch(/^Parse error: /);
  });

  it('passes other parser errors on', async () => {
    const res = await post('{}', 'application/json; charset=latin1');
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ fallback: true });
  });
});

describe('requestRateLimit', () => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  async function limited(rpm: number, auth: boolean): Promise<Running> {
    const app = express();
    if (auth) app.use(apiKeyAuth({ keys: [KEY_A, KEY_B] }));
    app.use(requestRateLimit({ rpm }), echo);
    const server = await serve(app);
    running.push(server);
    return server;
  }

  it('limits each API key separately and answers 429 with Retry-After', async () => {
    const server = await limited(3, true);
    const call = (key: string) => fetch(server.url, { headers: { 'X-API-Key': key } });
    for (let i = 0; i < 3; i++) {
      const ok = await call(KEY_A);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-policy')).toMatch(/q=3; w=60/);
    }
    const res = await call(KEY_A);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await res.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: 'Too many requests: limit is 3 per minute',
        retryAfterSeconds: retryAfter,
      },
    });
    expect((await call(KEY_B)).status).toBe(200);
  });

  it('falls back to the client IP without a key', async () => {
    const server = await limited(2, false);
    expect((await fetch(server.url)).status).toBe(200);
    expect((await fetch(server.url)).status).toBe(200);
    expect((await fetch(server.url)).status).toBe(429);
  });

  it('is a no-op at rpm 0 and rejects nonsense', async () => {
    const server = await limited(0, false);
    for (let i = 0; i < 10; i++) {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
    }
    expect(() => requestRateLimit({ rpm: -1 })).toThrow(RangeError);
    expect(() => requestRateLimit({ rpm: 1.5 })).toThrow(RangeError);
  });
});

describe('securityHeaders', () => {
  let server: Running;
  beforeAll(async () => {
    const app = express();
    app.use(securityHeaders());
    app.get('/json', echo);
    app.get('/cached', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=60').json({ ok: true });
    });
    // Like the legacy SSE transport: setHeader-style headers, then writes.
    app.get('/sse', (_req, res) => {
      res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform' });
      res.write('event: endpoint\ndata: /messages\n\n');
      res.end();
    });
    // Like the Streamable HTTP transport's Node adapter: everything in writeHead, no Cache-Control.
    app.get('/sse-writehead', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {}\n\n');
    });
    server = await serve(app);
  });
  afterAll(() => server.close());

  it('sets the API security headers and removes X-Powered-By', async () => {
    for (const path of ['/json', '/missing']) {
      const res = await fetch(server.url + path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it("keeps a handler's own Cache-Control", async () => {
    const res = await fetch(`${server.url}/cached`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('does not clobber SSE responses', async () => {
    const sse = await fetch(`${server.url}/sse`);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(sse.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(await sse.text()).toContain('event: endpoint');
    const streamable = await fetch(`${server.url}/sse-writehead`);
    expect(streamable.headers.get('content-type')).toBe('text/event-stream');
    expect(streamable.headers.get('cache-control')).toBeNull();
    expect(streamable.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
