/**
 * Workflows run with their owner's rights as they are now: a webhook (or a
 * schedule) starts a run as the user who made the workflow, and each step
 * checks that user's current bases and account. Narrowing the bases stops
 * the write before anything reaches Airtable; disabling the account stops
 * the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableClient } from '../src/airtable/index.js';
import platformModule from '../src/platform/index.js';
import sagaModule from '../src/saga/index.js';
import { generateApiKey } from '../src/store/api-keys.js';
import { type AppServer, startAppServer } from './helpers/app-server.js';

const BASE = 'appSandboxDemo001';
const ADMIN_KEY = generateApiKey();

let app: AppServer;
let airtable: AirtableClient;
let userId = '';
let hookPath = '';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies
async function json(res: Response): Promise<any> {
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

async function waitRun(id: string) {
  for (let i = 0; i < 300; i++) {
    const run = await json(await app.fetch(`/api/runs/${id}`, { token: ADMIN_KEY }));
    if (!['pending', 'running', 'compensating'].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${id} did not finish`);
}

async function projectNames(): Promise<string[]> {
  const page = await airtable.listRecords(BASE, 'Projects', { maxRecords: 1000 });
  return page.records.map((r) => String(r.fields.Name ?? ''));
}

async function fireHook(title: string) {
  const res = await app.fetch(hookPath, { method: 'POST', json: { title } });
  expect(res.status).toBe(202);
  return waitRun((await json(res)).run.id);
}

async function setUser(patch: Record<string, unknown>) {
  const res = await app.fetch(`/api/users/${userId}`, { method: 'PATCH', token: ADMIN_KEY, json: patch });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  app = await startAppServer({
    modules: [platformModule, sagaModule],
    env: { API_KEY: ADMIN_KEY, SAGA_POLL_MS: '50', AIRTABLE_BASE: BASE, SANDBOX_RATE_LIMIT: 'false' },
  });
  airtable = new AirtableClient({ token: 'patSandbox.localdevtoken', baseUrl: app.sandboxUrl });
  const registered = await json(
    await app.fetch('/api/auth/register', {
      method: 'POST',
      json: { email: 'flow-owner@example.com', password: 'a workflow owner passphrase' },
    }),
  );
  userId = registered.user.id;
  const created = await json(
    await app.fetch('/api/workflows', {
      method: 'POST',
      token: registered.access_token,
      json: {
        name: 'Hooked project',
        triggers: [{ type: 'webhook' }],
        steps: [
          {
            name: 'p',
            type: 'tool',
            tool: 'create_record',
            args: { base_id: BASE, table_id: 'Projects', fields: { Name: '{{input.title}}' } },
          },
        ],
      },
    }),
  );
  hookPath = created.workflow.webhook_path;
});

afterAll(async () => {
  await app?.close();
});

describe("workflows run with their owner's current rights", () => {
  it('runs while the owner may use the base', async () => {
    expect((await fireHook('Owner allowed')).status).toBe('completed');
    expect(await projectNames()).toContain('Owner allowed');
  });

  it('stops at the write once an admin narrows the owner to other bases; nothing reaches Airtable', async () => {
    await setUser({ allowed_bases: ['appOtherBase00001'] });
    const run = await fireHook('Owner narrowed');
    expect(run.status).not.toBe('completed');
    expect(JSON.stringify(run.steps[0])).toMatch(/access|base/i);
    expect(await projectNames()).not.toContain('Owner narrowed');
    await setUser({ allowed_bases: '*' });
    expect((await fireHook('Owner restored')).status).toBe('completed');
  });

  it('stops when the owner is disabled, saying why', async () => {
    await setUser({ disabled: true });
    const run = await fireHook('Owner disabled');
    expect(run.status).not.toBe('completed');
    expect(JSON.stringify(run.steps[0])).toMatch(/disabled, deleted or revoked/);
    expect(await projectNames()).not.toContain('Owner disabled');
  });
});
