/** Metrics, health and request logging of HTTP mode, on a small real Express app over loopback. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { pino } from 'pino';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AirtableClient, type ClientEvent } from '../src/airtable/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import {
  airtableCheck,
  type ComponentCheck,
  HealthMonitor,
  type HealthReport,
} from '../src/transports/http/health.js';
import { Metrics } from '../src/transports/http/metrics.js';
import { requestLog } from '../src/transports/http/request-log.js';

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(app: Express): Promise<Served> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Collects pino's JSON lines. */
function captureLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, entries };
}

/** A route that opens an SSE-like stream and never ends it. */
function openStream(_req: express.Request, res: express.Response) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  res.write(': open\n\n');
}

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.stop();
});

describe('Metrics', () => {
  const metrics = new Metrics();
  let served: Served;

  beforeAll(async () => {
    const app = express();
    app.use(metrics.http({ knownRoutes: ['/sse', '/v1/mcp'] }));
    // Auth-like middleware answering before any route matched.
    app.use(['/sse', '/v1/mcp'], (req, res, next) => (req.get('x-deny') ? res.status(401).json({}) : next()));
    app.post('/mcp', (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/sse', openStream);
    app.get(['/health', '/health/', '/api/health'], (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/items/:id', (_req, res) => {
      res.json({ ok: true });
    });
    const api = express.Router();
    api.get('/things/:id', (_req, res) => {
      res.json({ ok: true });
    });
    app.use('/api', api);
    app.get('/metrics', metrics.handler());
    app.get('/secure-metrics', metrics.handler({ token: 's3cret-token' }));
    served = await serve(app);
  });
  afterAll(() => served.close());

  const scrape = async () => {
    const res = await fetch(`${served.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('counts requests by method, route pattern and status, never raw ids', async () => {
    await fetch(`${served.url}/mcp`, { method: 'POST' });
    await fetch(`${served.url}/mcp`, { method: 'POST' });
    await fetch(`${served.url}/items/recSECRETID000001`);
    await fetch(`${served.url}/api/things/appSECRETBASE0001`);
    await fetch(`${served.url}/nope/tblSECRETTABLE001?x=1`);
    await fetch(`${served.url}/sse`, { headers: { 'x-deny': '1' } });
    await fetch(`${served.url}/v1/mcp`, { headers: { 'x-deny': '1' } });
    await fetch(`${served.url}/api/health`);
    const text = await scrape();
    expect(text).toContain('airtable_mcp_http_requests_total{method="POST",route="/mcp",status="200"} 2');
    expect(text).toContain(
      'airtable_mcp_http_requests_total{method="GET",route="/items/:id",status="200"} 1',
    );
    expect(text).toContain(
      'airtable_mcp_http_requests_total{method="GET",route="/api/things/:id",status="200"} 1',
    );
    expect(text).toContain('airtable_mcp_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('airtable_mcp_http_requests_total{method="GET",route="/sse",status="401"} 1');
    expect(text).toContain('airtable_mcp_http_requests_total{method="GET",route="/v1/mcp",status="401"} 1');
    expect(text).toContain(
      'airtable_mcp_http_requests_total{method="GET",route="/api/health",status="200"} 1',
    );
    expect(text).toMatch(
      /airtable_mcp_http_request_duration_seconds_count\{method="POST",route="\/mcp",status="200"\} 2/,
    );
    expect(text).not.toMatch(/SECRET/);
  });

  it('counts an SSE stream once the client goes away', async () => {
    const controller = new AbortController();
    const res = await fetch(`${served.url}/sse`, { signal: controller.signal });
    expect(res.status).toBe(200);
    controller.abort();
    await vi.waitFor(async () => {
      expect(await scrape()).toContain(
        'airtable_mcp_http_requests_total{method="GET",route="/sse",status="200"} 1',
      );
    });
  });

  it('counts tool calls by tool and outcome', async () => {
    metrics.observeToolCall({ tool: 'get_record', outcome: 'ok', durationMs: 120 });
    metrics.observeToolCall({ tool: 'get_record', outcome: 'ok', durationMs: 80 });
    metrics.observeToolCall({ tool: 'create_record', outcome: 'invalid_input', durationMs: 1 });
    const text = await scrape();
    expect(text).toContain('airtable_mcp_tool_calls_total{tool="get_record",outcome="ok"} 2');
    expect(text).toContain('airtable_mcp_tool_calls_total{tool="create_record",outcome="invalid_input"} 1');
    expect(text).toContain('airtable_mcp_tool_call_duration_seconds_sum{tool="get_record"} 0.2');
    expect(text).toContain('airtable_mcp_tool_call_duration_seconds_count{tool="get_record"} 2');
  });

  it('counts Airtable responses by status, 429s and limiter waits', async () => {
    const base = { method: 'GET', path: '/v0/appX/tbl', attempt: 1 };
    const events: ClientEvent[] = [
      { ...base, type: 'request', waitMs: 1500 },
      { ...base, type: 'response', status: 429, durationMs: 30 },
      { ...base, type: 'rate_limited', status: 429, waitMs: 30_000 },
      { ...base, type: 'request', attempt: 2, waitMs: 0 },
      { ...base, type: 'retry', attempt: 2, waitMs: 10, reason: 'network' },
      { ...base, type: 'request', attempt: 3, waitMs: 0 },
      { ...base, type: 'response', status: 503, durationMs: 5 },
      { ...base, type: 'retry', status: 503, attempt: 3, waitMs: 10, reason: 'server' },
    ];
    for (const e of events) metrics.observeAirtable(e);
    const text = await scrape();
    expect(text).toContain('airtable_mcp_airtable_responses_total{status="429"} 1');
    expect(text).toContain('airtable_mcp_airtable_responses_total{status="503"} 1');
    expect(text).toContain('airtable_mcp_airtable_responses_total{status="network"} 1');
    expect(text).toContain('airtable_mcp_airtable_rate_limited_total 1');
    expect(text).toContain('airtable_mcp_airtable_limiter_wait_seconds_sum 1.5');
    expect(text).toContain('airtable_mcp_airtable_limiter_wait_seconds_count 3');
    expect(text).toContain('airtable_mcp_airtable_request_duration_seconds_count{method="GET"} 2');
    expect(text).not.toContain('appX');
  });

  it('observes a real client: request events carry the limiter wait', async () => {
    const events: ClientEvent[] = [];
    const own = new Metrics({ collectDefault: false });
    const client = new AirtableClient({
      token: sandbox.token,
      baseUrl: sandbox.url,
      onEvent: (e) => {
        events.push(e);
        own.observeAirtable(e);
      },
    });
    await client.whoami();
    const request = events.find((e) => e.type === 'request');
    expect(request?.waitMs).toBeTypeOf('number');
    const text = await own.registry.metrics();
    expect(text).toContain('airtable_mcp_airtable_responses_total{status="200"} 1');
    expect(text).toContain('airtable_mcp_airtable_limiter_wait_seconds_count 1');
  });

  it('reports open sessions from the tracker on every scrape', async () => {
    let counts = { streamable: 3, sse: 1 };
    metrics.trackSessions(() => counts);
    let text = await scrape();
    expect(text).toContain('airtable_mcp_open_sessions{transport="streamable"} 3');
    expect(text).toContain('airtable_mcp_open_sessions{transport="sse"} 1');
    counts = { streamable: 0, sse: 2 };
    text = await scrape();
    expect(text).toContain('airtable_mcp_open_sessions{transport="streamable"} 0');
    expect(text).toContain('airtable_mcp_open_sessions{transport="sse"} 2');
  });

  it('includes default process metrics', async () => {
    const text = await scrape();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('requires the bearer token when one is configured', async () => {
    const none = await fetch(`${served.url}/secure-metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({ error: 'unauthorized' });
    const wrong = await fetch(`${served.url}/secure-metrics`, {
      headers: { Authorization: 'Bearer s3cret-tokem' },
    });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${served.url}/secure-metrics`, {
      headers: { Authorization: 'Bearer s3cret-token' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('airtable_mcp_http_requests_total');
  });

  it('keeps instances apart on their own registries', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.observeToolCall({ tool: 'list_bases', outcome: 'error', durationMs: 5 });
    expect(await a.registry.metrics()).toContain(
      'airtable_mcp_tool_calls_total{tool="list_bases",outcome="error"} 1',
    );
    expect(await b.registry.metrics()).not.toContain('tool="list_bases"');
    expect(await globalRegistry.metrics()).not.toContain('airtable_mcp_');
  });
});

/** A component whose health the test controls; `hang` makes the next check never settle on its own. */
function fakeComponent(name: string, critical: boolean) {
  const state = { up: true, hang: false, calls: 0 };
  const component: ComponentCheck = {
    name,
    critical,
    async check() {
      state.calls++;
      if (state.hang) await new Promise(() => {});
      if (!state.up) throw new Error(`${name} is unreachable`);
    },
  };
  return { state, component };
}

describe('HealthMonitor', () => {
  async function serveHealth(monitor: HealthMonitor) {
    const app = express();
    app.get('/health', monitor.handler());
    const served = await serve(app);
    const get = async () => {
      const res = await fetch(`${served.url}/health`);
      return { status: res.status, body: (await res.json()) as HealthReport };
    };
    return { served, get };
  }

  it('reports ok, degraded and down from critical and non-critical components', async () => {
    const db = fakeComponent('db', true);
    const airtable = fakeComponent('airtable', false);
    const monitor = new HealthMonitor({ version: '1.2.3', components: [db.component, airtable.component] });
    const { served, get } = await serveHealth(monitor);
    try {
      let r = await get();
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        status: 'ok',
        version: '1.2.3',
        components: { db: { status: 'unknown' } },
      });
      expect(r.body.uptimeSeconds).toBeTypeOf('number');

      await monitor.checkNow();
      r = await get();
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('ok');
      expect(r.body.components.db).toMatchObject({ status: 'ok', latencyMs: expect.any(Number) });
      expect(Date.parse(r.body.components.db?.checkedAt ?? '')).not.toBeNaN();

      airtable.state.up = false;
      await monitor.checkNow();
      r = await get();
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('degraded');
      expect(r.body.components.airtable).toMatchObject({ status: 'down', error: 'airtable is unreachable' });

      db.state.up = false;
      await monitor.checkNow();
      r = await get();
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('down');

      db.state.up = true;
      airtable.state.up = true;
      await monitor.checkNow();
      expect((await get()).body.status).toBe('ok');
    } finally {
      await served.close();
    }
  });

  it('reports down with 503 while not serving', async () => {
    const monitor = new HealthMonitor({ version: '1', components: [] });
    const { served, get } = await serveHealth(monitor);
    try {
      monitor.setServing(false);
      expect(await get()).toMatchObject({ status: 503, body: { status: 'down' } });
      monitor.setServing(true);
      expect(await get()).toMatchObject({ status: 200, body: { status: 'ok' } });
    } finally {
      await served.close();
    }
  });

  it('answers at once from the cache while a check hangs, then times the check out', async () => {
    const slow = fakeComponent('slow', true);
    slow.state.hang = true;
    const monitor = new HealthMonitor({ version: '1', components: [slow.component], timeoutMs: 300 });
    const { served, get } = await serveHealth(monitor);
    try {
      monitor.start();
      const started = performance.now();
      const r = await get();
      expect(performance.now() - started).toBeLessThan(200);
      expect(r).toMatchObject({ status: 200, body: { components: { slow: { status: 'unknown' } } } });
      await vi.waitFor(async () => {
        const later = await get();
        expect(later.status).toBe(503);
        expect(later.body.components.slow?.error).toMatch(/timed out after 300 ms/);
      });
    } finally {
      monitor.stop();
      await served.close();
    }
  });

  it('re-checks in the background every intervalMs', async () => {
    const flaky = fakeComponent('flaky', true);
    const monitor = new HealthMonitor({ version: '1', components: [flaky.component], intervalMs: 30 });
    monitor.start();
    try {
      await vi.waitFor(() => expect(monitor.report().components.flaky?.status).toBe('ok'));
      flaky.state.up = false;
      await vi.waitFor(() => expect(monitor.report().status).toBe('down'));
      flaky.state.up = true;
      await vi.waitFor(() => expect(monitor.report().status).toBe('ok'));
      expect(flaky.state.calls).toBeGreaterThanOrEqual(3);
    } finally {
      monitor.stop();
    }
    const calls = flaky.state.calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(flaky.state.calls).toBe(calls);
  });

  it('checks Airtable with whoami: ok against the sandbox, down (degraded) when it is gone', async () => {
    const live = new AirtableClient({ token: sandbox.token, baseUrl: sandbox.url });
    const up = new HealthMonitor({ version: '1', components: [airtableCheck(live)] });
    await up.checkNow();
    expect(up.report()).toMatchObject({ status: 'ok', components: { airtable: { status: 'ok' } } });

    const gone = await startSandbox();
    await gone.stop();
    const dead = new AirtableClient({ token: gone.token, baseUrl: gone.url, retryBaseDelayMs: 10 });
    const down = new HealthMonitor({ version: '1', components: [airtableCheck(dead, { timeoutMs: 1_000 })] });
    await down.checkNow();
    const report = down.report();
    expect(report.status).toBe('degraded');
    expect(report.components.airtable?.status).toBe('down');
    expect(report.components.airtable?.error).toBeTruthy();
    expect(report.components.airtable?.error).not.toContain(gone.token);
  });
});

describe('requestLog', () => {
  const { logger, lines, entries } = captureLogger();
  let served: Served;

  beforeAll(async () => {
    const app = express();
    app.use(requestLog(logger));
    app.use((_req, res, next) => {
      res.locals.keyId = 'key_test_1';
      next();
    });
    app.get('/messages', (_req, res) => {
      res.json({ requestId: res.locals.requestId });
    });
    app.get('/sse', openStream);
    served = await serve(app);
  });
  afterAll(() => served.close());

  const logFor = async (requestId: string) => {
    await vi.waitFor(() => expect(entries().some((e) => e.requestId === requestId)).toBe(true));
    return entries().find((e) => e.requestId === requestId)!;
  };

  it('echoes a valid X-Request-Id and logs one line with the request facts', async () => {
    const res = await fetch(`${served.url}/messages?sessionId=SESSIONSECRET123`, {
      headers: {
        'X-Request-Id': 'req-1.A_b',
        Authorization: 'Bearer AUTHSECRET456',
        'X-API-Key': 'APIKEYSECRET789',
        'User-Agent': 'obs-test/1.0',
      },
    });
    expect(res.headers.get('x-request-id')).toBe('req-1.A_b');
    expect(res.headers.get('x-trace-id')).toBeNull();
    expect(await res.json()).toEqual({ requestId: 'req-1.A_b' });
    const line = await logFor('req-1.A_b');
    expect(line).toMatchObject({
      requestId: 'req-1.A_b',
      method: 'GET',
      path: '/messages',
      route: '/messages',
      status: 200,
      keyId: 'key_test_1',
      userAgent: 'obs-test/1.0',
      msg: 'http request',
    });
    expect(line.durationMs).toBeTypeOf('number');
    expect(line.ip).toMatch(/127\.0\.0\.1/);
    expect(entries().filter((e) => e.requestId === 'req-1.A_b')).toHaveLength(1);
    const text = lines.join('');
    for (const secret of ['SESSIONSECRET123', 'AUTHSECRET456', 'APIKEYSECRET789', 'sessionId']) {
      expect(text).not.toContain(secret);
    }
  });

  it('replaces unacceptable ids with a random UUID', async () => {
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '']) {
      const res = await fetch(`${served.url}/messages`, { headers: { 'X-Request-Id': bad } });
      const id = res.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect((await logFor(id)).requestId).toBe(id);
    }
  });

  it('accepts X-Trace-ID and echoes it in both headers', async () => {
    const res = await fetch(`${served.url}/messages`, { headers: { 'X-Trace-ID': 'trace-42' } });
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    expect(res.headers.get('x-trace-id')).toBe('trace-42');
    await logFor('trace-42');
  });

  it('logs unmatched routes and streams closed by the client', async () => {
    const missing = await fetch(`${served.url}/nope/recSECRET?x=1`, { headers: { 'X-Request-Id': 'r-404' } });
    expect(missing.status).toBe(404);
    expect(await logFor('r-404')).toMatchObject({ status: 404, route: 'unmatched', path: '/nope/recSECRET' });

    const controller = new AbortController();
    const res = await fetch(`${served.url}/sse?sessionId=abc`, {
      headers: { 'X-Request-Id': 'r-sse' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    controller.abort();
    expect(await logFor('r-sse')).toMatchObject({ status: 200, route: '/sse', path: '/sse', aborted: true });
  });
});
