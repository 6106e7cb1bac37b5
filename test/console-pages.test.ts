/**
 * Every console page in chromium against a stand-in /api that answers with
 * the shapes of issues 9–11 (and the orchestrator's ChatEvent stream). It
 * checks what the pages do with those answers — streaming, approvals, the
 * chart, a key shown once, a run's steps, the export download, erasure —
 * plus axe-core, the CSP and 360 px layouts. The real modules are driven by
 * console-e2e.test.ts once they are in the tree.
 */
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleHandler, loadConsoleAssets } from '../src/console/static.js';
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

const USER = {
  id: 'usr_1',
  email: 'ada@example.com',
  first_name: 'Ada',
  last_name: null,
  role: 'admin',
  created_at: '2026-12-01T00:00:00.000Z',
};
const today = new Date().toISOString().slice(0, 10);
const seen: string[] = [];
/** Whether the stand-in's GET /models says a Gemini key is set. */
const chat = { configured: true };
const NEW_KEY = `pyu_${'ab'.repeat(32)}`;

/** The stand-in API: just enough state for one person's walk through the console. */
function standInApi() {
  const api = express.Router();
  api.use(express.json());
  const state = {
    signedIn: false,
    deleted: false,
    keys: [] as Record<string, unknown>[],
    approved: false,
    runs: 0,
  };
  const tokens = (res: Response) => {
    res.cookie('amk_refresh', 'r1', { httpOnly: true, sameSite: 'strict', path: '/' });
    res.json({
      access_token: 'at1',
      refresh_token: 'hidden',
      token_type: 'bearer',
      expires_in: 900,
      user: USER,
    });
  };
  const auth = (req: Request, res: Response, next: () => void) => {
    if (req.headers.authorization !== 'Bearer at1')
      return void res.status(401).json({ title: 'Unauthorized', status: 401, detail: 'Sign in' });
    next();
  };
  api.use((req, _res, next) => {
    seen.push(`${req.method} ${req.path}`);
    next();
  });
  api.post('/auth/login', (req, res) => {
    if (state.deleted || req.body.password !== 'correct horse battery') {
      return void res
        .status(401)
        .json({ title: 'Unauthorized', status: 401, detail: 'Invalid email or password' });
    }
    tokens(res);
  });
  api.post('/auth/register', (_req, res) => void tokens(res.status(201)));
  api.post('/auth/refresh', (req, res) => {
    if (!req.headers.cookie?.includes('amk_refresh=r1') || req.headers['x-console'] !== '1') {
      return void res.status(401).json({ title: 'Unauthorized', status: 401, detail: 'No session' });
    }
    tokens(res);
  });
  api.post(
    '/auth/logout',
    (_req, res) => void res.clearCookie('amk_refresh', { path: '/' }).status(204).end(),
  );
  api.get(
    '/models',
    (_req, res) => void res.json({ default_model: 'gemini-flash', configured: chat.configured }),
  );
  api.use(auth);
  api.post(
    '/execute-tool',
    (_req, res) =>
      void res.json({
        tool: 'list_bases',
        is_error: false,
        result: { bases: [{ id: 'appDemo', name: 'Demo', permissionLevel: 'create' }], truncated: false },
      }),
  );
  api.get(
    '/sessions',
    (_req, res) =>
      void res.json({
        sessions: [{ session_id: 'ses_old', title: 'Late projects', updated_at: '2026-12-06T10:00:00Z' }],
      }),
  );
  api.get(
    '/sessions/:id/history',
    (_req, res) =>
      void res.json({
        session_id: 'ses_old',
        status: 'idle',
        // The orchestrator's history shape (src/orchestrator/orchestrator.ts history()).
        history: [
          { role: 'user', message: 'Which projects are late?', turn_id: 't0' },
          {
            role: 'assistant',
            message: 'None are late.',
            turn_id: 't0',
            tools_used: ['search_records'],
            cost: 0.0004,
            model_used: 'gemini-flash',
          },
        ],
      }),
  );
  const usage = {
    input_tokens: 320,
    output_tokens: 42,
    thinking_tokens: 0,
    cached_tokens: 0,
    tool_use_tokens: 0,
    total_tokens: 362,
    hops: 3,
  };
  const cost = {
    total_usd: 0.00123,
    input_usd: 0.001,
    output_usd: 0.00023,
    thinking_usd: 0,
    currency: 'USD',
    estimate: true,
    priced: true,
  };
  const pending = [
    {
      call_id: 'c2',
      tool: 'create_record',
      arguments: { table_id: 'Projects', fields: { Name: 'New' } },
      kind: 'write',
      summary: 'Creates 1 record in Projects',
    },
  ];
  const sse = (res: Response, events: Record<string, unknown>[]) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    for (const event of events) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    res.end();
  };
  api.post('/chat', (req, res) => {
    if (!req.body.stream)
      return void res.status(400).json({ title: 'Bad Request', status: 400, detail: 'expected stream' });
    sse(res, [
      { type: 'session', session_id: 'ses_new', turn_id: 't1', model: 'gemini-flash' },
      { type: 'tool_call', id: 'c1', name: 'list_tables', arguments: { base_id: req.body.base_id } },
      {
        type: 'tool_result',
        id: 'c1',
        name: 'list_tables',
        ok: true,
        outcome: 'ok',
        duration_ms: 4,
        preview: 'Projects, Tasks',
      },
      { type: 'text', text: 'I will create ' },
      { type: 'approval_required', pending },
      { type: 'usage', hop: 2, usage, cost },
      {
        type: 'done',
        result: {
          session_id: 'ses_new',
          turn_id: 't1',
          response: 'I will create ',
          status: 'approval_required',
          pending,
          tool_calls: [],
          usage,
          cost,
          model: 'gemini-flash',
        },
      },
    ]);
  });
  api.post('/sessions/:id/approvals', (req, res) => {
    state.approved = req.body.approve === true && req.body.call_id === 'c2';
    sse(res, [
      {
        type: 'tool_result',
        id: 'c2',
        name: 'create_record',
        ok: true,
        outcome: 'ok',
        duration_ms: 9,
        preview: 'recNew',
      },
      { type: 'text', text: 'Created the record.' },
      {
        type: 'done',
        result: {
          session_id: 'ses_new',
          response: 'Created the record.',
          status: 'done',
          tool_calls: [],
          usage,
          cost,
          model: 'gemini-flash',
        },
      },
    ]);
  });
  const day = {
    day: today,
    calls: 7,
    errors: 1,
    airtable_requests: 9,
    input_tokens: 320,
    output_tokens: 42,
    cost_usd: 0.00123,
  };
  api.get('/analytics/usage', (req, res) => {
    if (req.query.group_by === 'tool')
      return void res.json({
        groups: [
          { key: 'list_tables', calls: 4, errors: 0 },
          { key: 'create_record', calls: 3, errors: 1 },
        ],
      });
    if (req.query.group_by === 'user') return void res.json({ groups: [{ key: USER.email, calls: 7 }] });
    res.json({ groups: [day] });
  });
  api.get(
    '/analytics/metrics',
    (_req, res) =>
      void res.json({
        calls: 7,
        error_rate: 1 / 7,
        p50_ms: 12,
        p95_ms: 40,
        airtable_requests: 9,
        input_tokens: 320,
        output_tokens: 42,
        cost_usd: 0.00123,
      }),
  );
  api.get('/keys', (_req, res) => void res.json({ keys: state.keys }));
  api.post('/keys', (req, res) => {
    // The platform's Key (src/platform/schemas.ts), the secret only in this answer.
    const key = {
      id: `key_${state.keys.length + 1}`,
      name: req.body.name,
      prefix: NEW_KEY.slice(0, 12),
      scopes: req.body.scopes,
      bases: req.body.bases ?? '*',
      created_at: new Date().toISOString(),
      last_used_at: null,
      expires_at: req.body.expires_at ?? null,
      revoked_at: null,
    };
    state.keys.push(key);
    res.status(201).json({ ...key, key: NEW_KEY });
  });
  api.delete('/keys/:id', (req, res) => {
    state.keys = state.keys.filter((k) => k.id !== req.params.id);
    res.status(204).end();
  });
  api.get(
    '/workflows',
    (_req, res) =>
      void res.json({
        // The saga module's workflow view (src/saga/service.ts workflowView).
        workflows: [
          {
            id: 'wf_1',
            name: 'Nightly sync',
            status: 'active',
            triggers: [{ type: 'cron', cron: '0 2 * * *', timezone: 'UTC' }],
            cron_expression: '0 2 * * *',
            timezone: 'UTC',
            next_run_at: '2026-12-08T02:00:00.000Z',
            steps: [{}, {}],
          },
        ],
        total: 1,
      }),
  );
  api.post('/workflows/validate', (req, res) => {
    seen.push(`validate ${JSON.stringify(req.body)}`);
    res.json({
      valid: true,
      errors: [],
      cron_expression: req.body.cron_expression,
      next_runs: ['2026-12-08T02:00:00.000Z', '2026-12-09T02:00:00.000Z', '2026-12-10T02:00:00.000Z'],
    });
  });
  const run = () => ({
    id: 'run_1',
    status: 'compensated',
    started_at: new Date().toISOString(),
    steps: [
      {
        name: 'create parent',
        type: 'tool',
        status: 'completed',
        duration_ms: 20,
        result: { id: 'rec1' },
        compensation: { status: 'completed' },
      },
      {
        name: 'create children',
        type: 'tool',
        status: 'failed',
        duration_ms: 15,
        error: 'INVALID_VALUE_FOR_COLUMN',
      },
    ],
  });
  api.get('/workflows/:id/runs', (_req, res) => void res.json({ runs: state.runs ? [run()] : [] }));
  api.post('/workflows/:id/trigger', (_req, res) => {
    state.runs++;
    res.status(202).json({ run: { id: 'run_1', status: 'pending' } });
  });
  api.get('/runs/:id', (_req, res) => void res.json(run()));
  api.get(
    '/users',
    (_req, res) =>
      void res.json({
        users: [
          USER,
          {
            id: 'usr_2',
            email: 'bob@example.com',
            role: 'member',
            allowed_bases: ['appDemo'],
            disabled: false,
          },
        ],
      }),
  );
  api.patch('/users/:id', (req, res) => void res.json({ id: req.params.id, ...req.body }));
  api.get(
    '/gdpr/consent',
    (_req, res) =>
      void res.json({
        current: [{ purpose: 'analytics', granted: true, updated_at: '2026-12-01T00:00:00Z' }],
        history: [],
      }),
  );
  api.put('/gdpr/consent', (req, res) => void res.json(req.body));
  api.post(
    '/gdpr/export',
    (_req, res) => void res.json({ platform: { profile: USER }, orchestrator: { sessions: ['ses_new'] } }),
  );
  api.post('/gdpr/deletion', (req, res) => {
    if (req.body.password !== 'correct horse battery')
      return void res
        .status(403)
        .json({ title: 'Forbidden', status: 403, detail: 'The password is not right' });
    state.deleted = true;
    res.clearCookie('amk_refresh', { path: '/' }).json({ status: 'completed', request_id: 'gdpr_1' });
  });
  return api;
}

describe('console pages against a stand-in API', () => {
  let server: Server;
  let url: string;
  let browser: BrowserSession;
  let page: Page;
  let watch: PageWatch;

  async function checkPage(name: string): Promise<void> {
    await screenshot(page, `console-standin-${name}-desktop`);
    expect(await seriousA11yViolations(page), `axe on ${name}`).toEqual([]);
    await page.setViewportSize(PHONE);
    await screenshot(page, `console-standin-${name}-phone`);
    expect(await fitsWidth(page), `${name} fits 360 px`).toBe(true);
    expect(await seriousA11yViolations(page), `axe on ${name} (phone)`).toEqual([]);
    await page.setViewportSize(DESKTOP);
  }

  async function open(route: string, heading: string): Promise<void> {
    await page.getByRole('link', { name: heading, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    expect(page.url()).toContain(`#/${route}`);
  }

  beforeAll(async () => {
    const assets = await loadConsoleAssets(await buildConsole());
    const app = express();
    app.use('/kit/api', standInApi());
    app.use('/kit', consoleHandler(assets!));
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/kit/`;
    browser = await launchBrowser(DESKTOP);
    page = await browser.context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    watch = await watchPage(page);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('signs in, and a reload keeps the session through the refresh cookie', async () => {
    await page.goto(url);
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid email or password');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();
    expect(await page.evaluate('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)')).toBe('{}{}');
  });

  it('says so before anyone types when the chat has no Gemini key', async () => {
    chat.configured = false;
    await page.reload();
    await page.getByText('The chat is not configured on this server').waitFor();
    expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    expect(await page.getByLabel('Message', { exact: true }).isDisabled()).toBe(true);
    expect(await seriousA11yViolations(page)).toEqual([]);
    chat.configured = true;
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Chat' }).waitFor();
    await expect.poll(() => page.getByText('The chat is not configured').count()).toBe(0);
  });

  it('chat streams, expands tool calls, approves a write inline, shows tokens and cost', async () => {
    await page.getByLabel('Base').selectOption('appDemo');
    const log = page.getByRole('log', { name: 'Messages' });
    const before = await log.boundingBox();
    await page.getByLabel('Message', { exact: true }).fill('Add a project');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    await page.getByRole('button', { name: 'Approve create_record' }).waitFor();
    expect(await page.getByText('Creates 1 record in Projects').isVisible()).toBe(true);
    await checkPage('chat-approval');
    await page.getByRole('button', { name: 'Approve create_record' }).click();
    await page.getByText('Created the record.').waitFor();
    // No layout shift: the log keeps its box while the answer streams in.
    expect(await log.boundingBox()).toEqual(before);
    await expect
      .poll(() => page.locator('.turn-meta').last().textContent())
      .toContain('320 in · 42 out tokens · $0.00123');
    await page.getByText('list_tables').click();
    expect(await page.getByText('Projects, Tasks').isVisible()).toBe(true);
    await checkPage('chat');
    await page.getByRole('button', { name: /Late projects/ }).click();
    await page.getByText('None are late.').waitFor();
    expect(await page.getByText('search_records').count()).toBe(1);
    expect(seen).toContain('POST /sessions/ses_new/approvals');
  });

  it('usage: totals, a chart and the numbers as a table', async () => {
    await open('usage', 'Usage');
    await page.locator('.chart-box canvas').first().waitFor();
    await expect
      .poll(() =>
        page
          .locator('.stat', { hasText: /^Calls/ })
          .locator('dd')
          .textContent(),
      )
      .toBe('7');
    await page.getByText('Calls, errors and Airtable requests as a table').click();
    const row = page.locator('.chart details table').first().locator('tbody tr', { hasText: today });
    expect(await row.locator('td').allTextContents()).toEqual(['7', '1', '9']);
    expect(await page.getByRole('row', { name: /list_tables/ }).count()).toBe(1);
    await checkPage('usage');
  });

  it('keys: created and shown once, then revoked', async () => {
    await open('keys', 'Keys');
    await page.getByLabel('Name').fill('laptop');
    await page.getByLabel(/^tools:write/).check();
    await page.getByLabel('Demo (appDemo)').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    expect(await page.getByLabel('The new key').inputValue()).toBe(NEW_KEY);
    await checkPage('keys');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByLabel('The new key').count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke laptop' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Revoke laptop' }).count()).toBe(0);
  });

  it('workflows: next fire times, a run with step status and compensation', async () => {
    await open('workflows', 'Workflows');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByText('Next fire times').waitFor();
    // Computed by the API from the workflow's cron and time zone, nothing else sent.
    await expect.poll(() => page.locator('.card ol li').count()).toBe(3);
    expect(seen).toContain('validate {"cron_expression":"0 2 * * *","timezone":"UTC"}');
    await page.getByRole('button', { name: 'Run Nightly sync' }).click();
    const steps = page.locator('.run table tbody tr');
    await expect.poll(() => steps.count()).toBe(2);
    expect(await steps.nth(0).textContent()).toContain('completed');
    expect(await steps.nth(1).textContent()).toContain('INVALID_VALUE_FOR_COLUMN');
    await checkPage('workflows');
  });

  it('admin: users with roles, bases and disable', async () => {
    await open('admin', 'Admin');
    await page.getByRole('button', { name: 'Disable bob@example.com' }).click();
    await page.getByRole('button', { name: 'Edit bases' }).nth(1).click();
    await checkPage('admin');
    expect(seen).toContain('PATCH /users/usr_2');
  });

  it('privacy: consents, an export download, and deletion signs out for good', async () => {
    await open('privacy', 'Privacy');
    await checkPage('privacy');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download my data' }).click(),
    ]);
    expect(JSON.parse(await readFile((await download.path())!, 'utf8')).platform.profile.email).toBe(
      USER.email,
    );
    const erase = page.getByRole('button', { name: 'Delete my account' });
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel(/^Type your email/).fill(USER.email);
    await erase.click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Invalid email or password');
    expect(watch.cspViolations).toEqual([]);
    expect(watch.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
