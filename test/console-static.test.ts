/**
 * The console's file server and its sign-in page in a real browser: cache
 * headers, the CSP (no violations while the page runs), base-path handling,
 * pass-through for everything that is not a console file, axe-core.
 */
import { get as httpGet, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, type ConsoleAssets, consoleHandler, loadConsoleAssets } from '../src/console/static.js';
import {
  type BrowserSession,
  buildConsole,
  DESKTOP,
  fitsWidth,
  launchBrowser,
  PHONE,
  screenshot,
  seriousA11yViolations,
  watchPage,
} from './console-browser.js';

const BASE = '/airtable';
let server: Server;
let url: string;
let assets: ConsoleAssets;
const apiCalls: string[] = [];

beforeAll(async () => {
  const dir = await buildConsole();
  const loaded = await loadConsoleAssets(dir);
  if (!loaded) throw new Error(`the console build left no index.html in ${dir}`);
  assets = loaded;
  const app = express();
  const router = express.Router();
  // What the root does: /api first (here a stand-in that knows no session), then the console at '/'.
  router.use('/api', (req, res) => {
    apiCalls.push(`${req.method} ${req.path} x-console=${req.headers['x-console'] ?? ''}`);
    res
      .status(401)
      .type('application/problem+json')
      .send({ title: 'Unauthorized', status: 401, detail: 'Sign in' });
  });
  router.use('/', consoleHandler(assets));
  router.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  app.use(BASE, router);
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}${BASE}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** A GET that leaves the body as sent (fetch may or may not decompress it). */
function rawGet(target: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    httpGet(target, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    }).on('error', reject);
  });
}

function assetPath(ext: string): string {
  const path = [...assets.files.keys()].find((p) => p.startsWith('/assets/') && p.endsWith(ext));
  if (!path) throw new Error(`no ${ext} asset in the build`);
  return path;
}

describe('console file server', () => {
  it('serves index.html at the base path with no-cache, an ETag and the strict CSP', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    // No inline scripts or styles, nothing from another origin: every URL is relative.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const again = await fetch(`${url}/`, { headers: { 'If-None-Match': response.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('caches hashed assets for a year and gzips them', async () => {
    for (const ext of ['.js', '.css']) {
      const path = assetPath(ext);
      const response = await rawGet(`${url}${path}`, { 'Accept-Encoding': 'gzip' });
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers.vary).toContain('Accept-Encoding');
      expect(gunzipSync(response.body).equals(assets.files.get(path)!.body)).toBe(true);
    }
    const js = assets.files.get(assetPath('.js'))!;
    const head = await fetch(`${url}${assetPath('.js')}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const sent = head.headers.get('content-encoding') === 'gzip' ? js.gzip! : js.body;
    expect(Number(head.headers.get('content-length'))).toBe(sent.length);
  });

  it('redirects the bare base path to its slash form, so relative URLs resolve', async () => {
    const response = await fetch(`${url}?x=1`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe(`${BASE}/?x=1`);
  });

  it('answers 404 for an unknown asset and passes every other path on', async () => {
    const missing = await fetch(`${url}/assets/index-gone.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const health = await fetch(`${url}/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const post = await fetch(`${url}/`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(post.headers.get('content-security-policy')).not.toBe(CONSOLE_CSP);
    const traversal = await fetch(`${url}/..%2f..%2fpackage.json`);
    expect(traversal.status).toBe(404);
  });
});

describe('console sign-in page in chromium', () => {
  let browser: BrowserSession;
  beforeAll(async () => {
    browser = await launchBrowser(DESKTOP);
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`renders without CSP violations or serious a11y problems (${label})`, async () => {
      const page = await browser.context.newPage();
      await page.setViewportSize(viewport);
      const watch = await watchPage(page);
      await page.goto(`${url}/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      // The page tried to restore a session with the refresh cookie, marked as the console's own request.
      expect(apiCalls).toContain('POST /auth/refresh x-console=1');
      expect(await seriousA11yViolations(page)).toEqual([]);
      expect(await fitsWidth(page)).toBe(true);
      await screenshot(page, `console-signin-${label}`);

      // Keyboard only: tab to the email field, type, tab to password, submit with Enter.
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(`document.activeElement?.getAttribute('name')`);
      expect(['email', 'password']).toContain(focused);
      await page.getByLabel('Email').fill('someone@example.com');
      await page.getByLabel('Password').fill('wrong password');
      await page.getByLabel('Password').press('Enter');
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('Sign in');

      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      expect(watch.cspViolations).toEqual([]);
      // The only console errors allowed are the failed (401) requests the stand-in API answers.
      expect(watch.errors.filter((e) => !/401|Unauthorized/.test(e))).toEqual([]);
      await page.close();
    });
  }
});
