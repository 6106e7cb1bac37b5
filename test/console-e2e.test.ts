/**
 * The console end to end in chromium, against the hosted server (sandbox,
 * every module on) and a fake Gemini over loopback: register → sign in →
 * chat with a tool call and an approved write → the record is in the
 * sandbox → usage shows the calls → create and revoke a key → run a
 * workflow and see its steps → export → delete the account → sign-in fails;
 * then an admin (made through the API) manages users on the admin page. Every
 * /api answer of 400 or more is collected: the console and the real API must
 * agree, so only the expected 401s may appear.
 * Screenshots of each page at desktop and phone widths go to test-output/;
 * axe-core checks each page.
 *
 * Needs the module seam (src/app/modules.ts) and the platform, orchestrator
 * and saga modules; until they are in the tree this file is skipped, saying so.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserSession,
  buildConsole,
  DESKTOP,
  fitsWidth,
  launchBrowser,
  type Page,
  type PageWatch,
  PHONE,
  screenshot,
  seriousA11yViolations,
  watchPage,
} from './console-browser.js';

const NEEDED = [
  'src/app/modules.ts',
  'src/platform/index.ts',
  'src/orchestrator/index.ts',
  'src/saga/index.ts',
  'test/helpers/fake-gemini.ts',
];
const missing = NEEDED.filter((path) => !existsSync(path));
if (missing.length) {
  process.stderr.write(`console-e2e: skipped until these exist: ${missing.join(', ')}\n`);
}

// A server key in the shape the hosted server accepts (`pya_` + 64 lowercase hex), fixed so runs compare.
const KEY = `pya_${'c0'.repeat(32)}`;
const BASE_ID = 'appSandboxDemo001';
const EMAIL = `console-e2e-${Date.now()}@example.com`;
const PASSWORD = 'a long console passphrase 42';
const RECORD_NAME = 'Console e2e project';
const ADMIN_EMAIL = `console-e2e-admin-${Date.now()}@example.com`;
const MEMBER_EMAIL = `console-e2e-member-${Date.now()}@example.com`;

describe.skipIf(missing.length > 0)('web console end to end', () => {
  let server: { url: string; close(): Promise<void> };
  let gemini: { url: string; enqueue(...hops: unknown[]): void; close(): Promise<void> };
  let browser: BrowserSession;
  let page: Page;
  let watch: PageWatch;
  let url: string;

  /** A JSON call to /api with the server key (the test's own view, not the console's). */
  async function api<T>(method: string, path: string, body?: unknown, token = KEY): Promise<T> {
    const response = await fetch(`${url}/api${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** An access token of the test's user, through the API (not the console's session). */
  async function signInToken(): Promise<string> {
    const answer = await api<{ access_token: string }>('POST', '/auth/login', {
      email: EMAIL,
      password: PASSWORD,
    });
    return answer.access_token;
  }

  /** Screenshots at both widths, the layout fits the phone, and axe finds nothing serious. */
  async function checkPage(name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    expect(await seriousA11yViolations(page), `axe on ${name}`).toEqual([]);
    await screenshot(page, `console-${name}-desktop`);
    await page.setViewportSize(PHONE);
    expect(await fitsWidth(page), `${name} fits 360 px`).toBe(true);
    await screenshot(page, `console-${name}-phone`);
    await page.setViewportSize(DESKTOP);
  }

  async function open(route: string, heading: string): Promise<void> {
    await page.getByRole('link', { name: heading, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    expect(page.url()).toContain(`#/${route}`);
  }

  beforeAll(async () => {
    const consoleDir = await buildConsole();
    const fake = await import('./helpers/fake-gemini.js');
    gemini = (await fake.startFakeGemini()) as unknown as typeof gemini;
    const { loadConfig } = await import('../src/config.js');
    const { startHttpServer } = await import('../src/transports/http/index.js');
    const { silentLogger } = await import('../src/logger.js');
    const config = loadConfig(
      {
        sandbox: true,
        rateLimit: false,
        transport: 'http',
        httpPort: '0',
        modules: 'platform,orchestrator,saga,console',
      } as never,
      {
        API_KEY: KEY,
        DATA_DIR: ':memory:',
        RATE_LIMIT_RPM: '0',
        REGISTRATION: 'open',
        GEMINI_API_KEY: 'fake-key',
        GEMINI_BASE_URL: gemini.url,
        CHAT_WRITE_POLICY: 'ask',
        CONSOLE_DIR: consoleDir,
      },
    );
    server = (await startHttpServer(config, silentLogger())) as unknown as typeof server;
    url = server.url.replace(/\/$/, '');
    browser = await launchBrowser(DESKTOP);
    page = await browser.context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    watch = await watchPage(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await gemini?.close();
  });

  it('registers, signs out, signs in, and keeps the session over a reload', async () => {
    await page.goto(`${url}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await checkPage('signin');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('First name (optional)').fill('Ada');
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();

    // The refresh token is an HttpOnly, SameSite=Strict cookie; the access token is only in memory.
    const cookies = await browser.context.cookies();
    const refresh = cookies.find((c) => c.name === 'amk_refresh');
    expect(refresh?.httpOnly).toBe(true);
    expect(refresh?.sameSite).toBe('Strict');
    expect(refresh?.path).toBe('/api/auth');
    expect(await page.evaluate('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)')).toBe('{}{}');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();
  });

  it('chats: a read tool call, an approved write, tokens and cost', async () => {
    gemini.enqueue(
      { calls: [{ name: 'list_tables', args: { base_id: BASE_ID }, id: 'c1' }] },
      {
        calls: [
          {
            name: 'create_record',
            args: { base_id: BASE_ID, table_id: 'Projects', fields: { Name: RECORD_NAME } },
            id: 'c2',
          },
        ],
        usage: { promptTokenCount: 120, candidatesTokenCount: 30, totalTokenCount: 150 },
      },
      {
        text: `Created “${RECORD_NAME}” in Projects.`,
        usage: { promptTokenCount: 200, candidatesTokenCount: 12, totalTokenCount: 212 },
      },
    );
    await page.getByLabel('Base').selectOption(BASE_ID);
    await page.getByLabel('Message', { exact: true }).fill('Add a project called Console e2e project');
    await page.getByRole('button', { name: 'Send' }).click();

    const approve = page.getByRole('button', { name: 'Approve create_record' });
    await approve.waitFor();
    await expect.poll(() => page.getByText('list_tables').count()).toBeGreaterThan(0);
    await checkPage('chat-approval');
    await approve.click();
    await page.getByText(`Created “${RECORD_NAME}” in Projects.`).waitFor();
    await expect.poll(() => page.locator('.turn-meta').last().textContent()).toMatch(/tokens · \$/);
    await page.getByText('create_record').first().click();
    await checkPage('chat');

    // An earlier session reopens from its stored history.
    await page.getByRole('button', { name: 'New chat' }).click();
    await expect.poll(() => page.getByText(`Created “${RECORD_NAME}” in Projects.`).count()).toBe(0);
    await page.getByRole('button', { name: /Add a project called/ }).click();
    await page.getByText(`Created “${RECORD_NAME}” in Projects.`).waitFor();
    expect(await page.getByRole('log').getByText('create_record').count()).toBeGreaterThan(0);

    const found = await api<{ result: { records?: unknown[] }; is_error: boolean }>('POST', '/execute-tool', {
      tool_name: 'search_records',
      arguments: { base_id: BASE_ID, table_id: 'Projects', query: RECORD_NAME },
    });
    expect(found.is_error).toBe(false);
    expect(JSON.stringify(found.result)).toContain(RECORD_NAME);
  });

  it('shows the calls on the usage page', async () => {
    await open('usage', 'Usage');
    await page.locator('.chart-box canvas').first().waitFor();
    await expect
      .poll(async () =>
        Number(
          await page
            .locator('.stat', { hasText: /^Calls/ })
            .locator('dd')
            .textContent(),
        ),
      )
      .toBeGreaterThan(0);
    await page.getByText('Calls, errors and Airtable requests as a table').click();
    const cells = await page.locator('.chart details table').first().locator('tbody td').allTextContents();
    expect(cells.some((cell) => Number(cell) > 0)).toBe(true);

    // The tool rows say what /api/analytics says for this user (the tool calls are recorded before the
    // turn goes on, so these two are settled; the model's own row may still be on its way).
    const { groups } = await api<{ groups: { key: string; calls: number; errors: number }[] }>(
      'GET',
      '/analytics/usage?group_by=tool',
      undefined,
      await signInToken(),
    );
    for (const tool of ['list_tables', 'create_record']) {
      const row = page.getByRole('region', { name: 'Tool breakdown' }).getByRole('row', { name: tool });
      const [calls, errors] = await row.locator('td').allTextContents();
      const expected = groups.find((g) => g.key === tool);
      expect(expected?.calls, tool).toBe(1);
      expect([Number(calls), Number(errors)], tool).toEqual([expected?.calls, expected?.errors]);
    }
    await checkPage('usage');
  });

  it('creates a key (shown once) and revokes it', async () => {
    await open('keys', 'Keys');
    await page.getByLabel('Name').fill('e2e key');
    await page.getByLabel(/^tools:write/).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('The new key').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    const works = await fetch(`${url}/api/keys`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(works.status).toBe(200);
    await checkPage('keys');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke e2e key' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Revoke e2e key' }).count()).toBe(0);
    const refused = await fetch(`${url}/api/keys`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);
  });

  it('runs a workflow and shows its steps', async () => {
    // The console lists and runs workflows; this one is created through the API as the signed-in user.
    const token = await signInToken();
    await api(
      'POST',
      '/workflows',
      {
        name: 'e2e workflow',
        description: 'Logs, then reads the projects',
        // Also scheduled (at 02:00 in Berlin, never during the test), so the page shows the next fire times.
        triggers: [{ type: 'manual' }, { type: 'cron', cron: '0 2 * * *', timezone: 'Europe/Berlin' }],
        steps: [
          { name: 'hello', type: 'log', message: 'starting' },
          { name: 'read', type: 'tool', tool: 'list_tables', arguments: { base_id: BASE_ID } },
        ],
      },
      token,
    );
    await open('workflows', 'Workflows');
    await page.getByRole('button', { name: 'Open' }).first().click();
    await page.getByText('Next fire times').waitFor();
    const fires = await page.locator('.card ol li').allTextContents();
    expect(fires).toHaveLength(5);
    await page.getByRole('button', { name: 'Run e2e workflow' }).click();
    const steps = page.locator('.run table tbody tr');
    await expect.poll(() => steps.count()).toBe(2);
    await expect
      .poll(() => page.locator('.run .badge').first().textContent(), { timeout: 20_000 })
      .toBe('completed');
    expect(await steps.first().textContent()).toContain('hello');
    await checkPage('workflows');
  });

  it('exports the data as a download', async () => {
    await open('privacy', 'Privacy');
    await checkPage('privacy');
    const consent = page.getByLabel('Usage analytics (charts of your own usage)');
    await consent.check();
    await page
      .locator('.consent', { hasText: 'Usage analytics' })
      .getByText(/granted/)
      .waitFor();
    const ledger = await api<{ current: { purpose: string; granted: boolean }[] }>(
      'GET',
      '/gdpr/consent',
      undefined,
      await signInToken(),
    );
    expect(ledger.current).toContainEqual(expect.objectContaining({ purpose: 'analytics', granted: true }));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download my data' }).click(),
    ]);
    const exported = await readFile((await download.path())!, 'utf8');
    expect(exported).toContain(EMAIL);
    expect(exported).toContain(RECORD_NAME.split(' ')[0]!);
  });

  it('deletes the account, after which sign-in fails', async () => {
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel(/^Type your email/).fill(EMAIL);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').count()).toBeGreaterThan(0);
    expect(await page.getByRole('heading', { level: 1, name: 'Chat' }).count()).toBe(0);
  });

  it('an admin sees every user, disables one, and gets the per-user usage', async () => {
    await api('POST', '/users', { email: ADMIN_EMAIL, password: PASSWORD, role: 'admin' });
    const member = await api<{ id: string }>('POST', '/users', { email: MEMBER_EMAIL, password: PASSWORD });
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();

    await open('admin', 'Admin');
    await page.getByRole('rowheader', { name: MEMBER_EMAIL }).waitFor();
    await page.getByRole('button', { name: `Disable ${MEMBER_EMAIL}` }).click();
    await page.getByRole('button', { name: `Enable ${MEMBER_EMAIL}` }).waitFor();
    const { users } = await api<{ users: { id: string; disabled: boolean }[] }>('GET', '/users');
    expect(users.find((u) => u.id === member.id)?.disabled).toBe(true);
    await checkPage('admin');

    // The deleted account's calls stay in the totals, without a user; an admin sees the breakdown.
    await open('usage', 'Usage');
    await page.getByRole('heading', { name: 'Per user' }).waitFor();
    await page.getByRole('region', { name: 'User breakdown' }).locator('tbody tr').first().waitFor();
  });

  it('met no API answer the console did not expect, no CSP violation and no script error', () => {
    // The refresh at the first visit (no cookie yet) and the sign-in after the deletion; nothing else.
    expect(watch.apiFailures).toEqual(['401 POST /api/auth/refresh', '401 POST /api/auth/login']);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
