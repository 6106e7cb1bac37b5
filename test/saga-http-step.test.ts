/**
 * http_request steps: only allowlisted hosts, never private or loopback
 * addresses unless allowed, statuses checked, over a real local HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, HttpStepError, isPrivateAddress, sendHttp } from '../src/saga/http-step.js';

let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = req.url === '/fail' ? 503 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, body: body ? JSON.parse(body) : null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const call = (url: string, extra: Partial<Parameters<typeof sendHttp>[0]> = {}) => ({
  method: 'POST',
  url,
  body: { a: 1 },
  timeoutMs: 5000,
  signal: new AbortController().signal,
  ...extra,
});

describe('http_request steps', () => {
  it('refuses hosts not on the allowlist, and everything when it is empty', () => {
    expect(() => checkUrl('https://example.com/x', { allowlist: [], allowPrivate: false })).toThrow(
      /empty: no host/,
    );
    expect(() =>
      checkUrl('https://evil.com/x', { allowlist: ['*.example.com'], allowPrivate: false }),
    ).toThrow(/not in WORKFLOW_HTTP_ALLOWLIST/);
    expect(
      checkUrl('https://api.example.com/x', { allowlist: ['*.example.com'], allowPrivate: false }).host,
    ).toBe('api.example.com');
    expect(() => checkUrl('file:///etc/passwd', { allowlist: ['*'], allowPrivate: false })).toThrow(
      /http and https/,
    );
  });

  it('classifies private, loopback and link-local addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
  });

  it('a loopback address is refused even when allowlisted, unless private addresses are allowed', async () => {
    const url = `http://127.0.0.1:${port}/ok`;
    await expect(sendHttp(call(url), { allowlist: ['127.0.0.1'], allowPrivate: false })).rejects.toThrow(
      /private or loopback/,
    );
    await expect(
      sendHttp(call(`http://localhost:${port}/ok`), { allowlist: ['localhost'], allowPrivate: false }),
    ).rejects.toThrow(/private or loopback/);
    const ok = await sendHttp(call(url), { allowlist: ['127.0.0.1'], allowPrivate: true });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ method: 'POST', body: { a: 1 } });
  });

  it('a 5xx answer is a retryable failure', async () => {
    const error = await sendHttp(call(`http://127.0.0.1:${port}/fail`), {
      allowlist: ['127.0.0.1'],
      allowPrivate: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStepError);
    expect((error as HttpStepError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/answered 503/);
  });
});
