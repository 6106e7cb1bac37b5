/**
 * Secrets never reach the logs: the built server runs as a process at
 * LOG_LEVEL=debug while people register, sign in (also with a wrong
 * password), refresh, make and use a personal key, use the console cookie,
 * change their password and erase themselves; then its whole output is
 * searched for every password, token and key that went over the wire.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/store/api-keys.js';
import { postMcpInitialize } from './helpers/mcp-http.js';
import type { Json } from './helpers/platform-http.js';
import { freePort } from './helpers/ports.js';

const CLI = 'dist/cli.js';
const PASSWORD = 'orchid lighthouse beneath snow';
const NEW_PASSWORD = 'tangerine comet over dunes';
const WRONG_PASSWORD = 'definitely-not-it-42';
const JWT_SECRET = 'log-test-jwt-secret-0123456789abcdefghij';
const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) =>
      !/^(AIRTABLE_|SANDBOX_|MCP_|LOG_LEVEL|GEMINI_|GOOGLE_|MODULES|DATA_DIR|DATABASE_URL|REDIS_URL|API_KEY|REGISTRATION|JWT_)/.test(
        key,
      ),
  ),
);

describe('the server’s logs (LOG_LEVEL=debug)', () => {
  let child: ChildProcess;
  let output = '';
  let base = '';
  let dataDir: string;
  const serverKey = generateApiKey();
  /** Every secret that crossed the wire, by what it is. */
  const secrets: Record<string, string> = {
    password: PASSWORD,
    'new password': NEW_PASSWORD,
    'wrong password': WRONG_PASSWORD,
    'server key': serverKey,
    'JWT secret': JWT_SECRET,
  };

  const call = async (method: string, path: string, token?: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Json };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'amk-platform-logs-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [CLI, '--transport', 'http', '--sandbox', '--port', String(port)], {
      env: {
        ...CLEAN_ENV,
        DATA_DIR: dataDir,
        API_KEY: serverKey,
        JWT_SECRET,
        REGISTRATION: 'open',
        LOG_LEVEL: 'debug',
        MODULES: 'platform',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const started = Date.now();
    for (;;) {
      try {
        if ((await fetch(`${base}/health`)).status < 500) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > 20_000) throw new Error(`the server did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hold none of the passwords, tokens or keys that went through the server', async () => {
    const address = `logs.${process.pid}@example.com`;
    const reg = await call('POST', '/api/auth/register', undefined, { email: address, password: PASSWORD });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    secrets['register access token'] = reg.body.access_token;
    secrets['register refresh token'] = reg.body.refresh_token;
    expect(
      (await call('POST', '/api/auth/login', undefined, { email: address, password: WRONG_PASSWORD })).status,
    ).toBe(401);
    const signIn = await call('POST', '/api/auth/login', undefined, { email: address, password: PASSWORD });
    secrets['access token'] = signIn.body.access_token;
    secrets['refresh token'] = signIn.body.refresh_token;
    const next = await call('POST', '/api/auth/refresh', undefined, {
      refresh_token: signIn.body.refresh_token,
    });
    expect(next.status).toBe(200);
    secrets['rotated refresh token'] = next.body.refresh_token;
    // Reuse (a warning is logged): still no token in it.
    const extra = await call('POST', '/api/auth/refresh', undefined, {
      refresh_token: next.body.refresh_token,
    });
    await call('POST', '/api/auth/refresh', undefined, { refresh_token: extra.body.refresh_token });
    await new Promise((resolve) => setTimeout(resolve, 10_300));
    expect(
      (await call('POST', '/api/auth/refresh', undefined, { refresh_token: next.body.refresh_token })).status,
    ).toBe(401);
    const consoleSignIn = await call(
      'POST',
      '/api/auth/login',
      undefined,
      { email: address, password: PASSWORD },
      { 'X-Console': '1' },
    );
    const cookie = consoleSignIn.headers.getSetCookie().find((c) => c.startsWith('amk_refresh='))!;
    secrets['cookie refresh token'] = cookie.split(';')[0]!.slice('amk_refresh='.length);
    const key = await call('POST', '/api/keys', consoleSignIn.body.access_token, {
      name: 'logs',
      scopes: ['tools:read'],
    });
    expect(key.status).toBe(201);
    secrets['personal key'] = key.body.key;
    // The key on /api and on /mcp, and a bad key and a bad token.
    expect((await call('GET', '/api/auth/verify', key.body.key)).status).toBe(200);
    const init = await postMcpInitialize(`${base}/mcp`, { authorization: `Bearer ${key.body.key}` }, 'logs');
    expect(init.status).toBe(200);
    await init.body?.cancel();
    const badKey = `pyu_${'e'.repeat(64)}`;
    secrets['bad key'] = badKey;
    expect((await call('GET', '/api/auth/verify', badKey)).status).toBe(401);
    const badToken = `${consoleSignIn.body.access_token.slice(0, -4)}AAAA`;
    secrets['bad token'] = badToken;
    expect((await call('GET', '/api/auth/verify', badToken)).status).toBe(401);
    const changed = await call('POST', '/api/auth/password', consoleSignIn.body.access_token, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    });
    expect(changed.status).toBe(200);
    secrets['access token after password change'] = changed.body.access_token;
    expect((await call('GET', '/api/users', serverKey)).status).toBe(200);
    expect(
      (await call('POST', '/api/gdpr/deletion', changed.body.access_token, { password: WRONG_PASSWORD }))
        .status,
    ).toBe(403);
    expect(
      (await call('POST', '/api/gdpr/deletion', changed.body.access_token, { password: NEW_PASSWORD }))
        .status,
    ).toBe(200);
    // Give the logger a moment to write out.
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(output.length, 'debug logging produced output').toBeGreaterThan(500);
    expect(output).toContain('/api/auth/login');
    // The reuse was logged (as a warning naming the user), without the token.
    expect(output).toMatch(/refresh token was presented again/);
    for (const [what, secret] of Object.entries(secrets)) {
      expect(output.includes(secret), `the logs contain the ${what}`).toBe(false);
    }
    // Nor the secret part of a key or token alone (a log might drop a prefix).
    expect(output).not.toContain(key.body.key.slice(4));
    expect(output).not.toContain(signIn.body.refresh_token.slice(3));
    expect(output).not.toContain(serverKey.slice(4));
  });
});
