/**
 * The saga module's HTTP API on a real server (startAppServer) with the
 * sandbox as Airtable: workflows CRUD and validation, trigger → run status
 * with steps, idempotency keys, cancel, retry, sagas (types, start, list,
 * cancel), webhooks, file upload and import, problem+json errors.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableClient } from '../src/airtable/index.js';
import sagaModule from '../src/saga/index.js';
import { type AppServer, startAppServer } from './helpers/app-server.js';

const BASE = 'appSandboxDemo001';
let app: AppServer;
let airtable: AirtableClient;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
async function json(res: Response): Promise<any> {
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

async function waitRun(
  id: string,
  done = (s: string) => !['pending', 'running', 'compensating'].includes(s),
) {
  for (let i = 0; i < 600; i++) {
    const run = await json(await app.fetch(`/api/runs/${id}`));
    if (done(run.status)) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

async function names(table: string): Promise<string[]> {
  const page = await airtable.listRecords(BASE, table, { maxRecords: 100_000 });
  return page.records.map((r) => String(r.fields.Name ?? r.fields.Title ?? ''));
}

beforeAll(async () => {
  app = await startAppServer({
    modules: [sagaModule],
    env: {
      SAGA_POLL_MS: '50',
      SAGA_SCHEDULE_POLL_MS: '200',
      AIRTABLE_BASE: BASE,
      RATE_LIMIT_RPM: '0',
      SANDBOX_RATE_LIMIT: 'false',
    },
  });
  airtable = new AirtableClient({ token: 'patSandbox.localdevtoken', baseUrl: app.sandboxUrl });
});

afterAll(async () => {
  await app?.close();
});

describe('saga HTTP API', () => {
  let workflowId = '';

  it('creates, lists, reads, updates and deletes workflows; unknown ids are 404 problem+json', async () => {
    const created = await app.fetch('/api/workflows', {
      method: 'POST',
      json: {
        name: 'Make a project',
        steps: [
          {
            name: 'p',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: '{{input.name}}' } },
          },
          { name: 'l', type: 'log', message: 'made {{steps.p.output.id}}' },
        ],
      },
    });
    expect(created.status).toBe(201);
    const body = await json(created);
    expect(body.workflow.name).toBe('Make a project');
    workflowId = body.workflow.id;
    const list = await json(await app.fetch('/api/workflows'));
    expect(list.workflows.map((w: { id: string }) => w.id)).toContain(workflowId);
    const put = await app.fetch(`/api/workflows/${workflowId}`, {
      method: 'PUT',
      json: { description: 'desc' },
    });
    expect(put.status).toBe(200);
    expect((await json(put)).description).toBe('desc');
    const missing = await app.fetch('/api/workflows/wf_nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const bad = await app.fetch('/api/workflows', {
      method: 'POST',
      json: { name: 'x', steps: [{ type: 'teleport' }] },
    });
    expect(bad.status).toBe(400);
  });

  it('validates steps and cron (next five times) and rejects a bad time zone', async () => {
    const ok = await json(
      await app.fetch('/api/workflows/validate', {
        method: 'POST',
        json: {
          steps: [{ name: 'a', type: 'log', message: 'x' }],
          cron_expression: '0 9 * * 1-5',
          timezone: 'Europe/Berlin',
        },
      }),
    );
    expect(ok.valid).toBe(true);
    expect(ok.next_runs).toHaveLength(5);
    expect(new Date(ok.next_runs[0]).getUTCHours()).toBe(8);
    const bad = await json(
      await app.fetch('/api/workflows/validate', {
        method: 'POST',
        json: { cron_expression: '* * * * *', timezone: 'Mars/Olympus' },
      }),
    );
    expect(bad.valid).toBe(false);
    expect(bad.errors[0].field).toBe('cron_expression');
    const bad2 = await app.fetch('/api/workflows', {
      method: 'POST',
      json: {
        name: 'c',
        steps: [{ name: 'a', type: 'log', message: 'x' }],
        triggers: [{ type: 'cron', cron: 'nope' }],
      },
    });
    expect(bad2.status).toBe(400);
  });

  it('triggers a run (202), shows its steps, and an idempotency key returns the first run', async () => {
    const res = await app.fetch(`/api/workflows/${workflowId}/trigger`, {
      method: 'POST',
      json: { input: { name: 'From HTTP' }, idempotency_key: 'k1' },
    });
    expect(res.status).toBe(202);
    const { run } = await json(res);
    const again = await app.fetch(`/api/workflows/${workflowId}/trigger`, {
      method: 'POST',
      json: { input: { name: 'From HTTP' }, idempotency_key: 'k1' },
    });
    expect(again.status).toBe(200);
    expect((await json(again)).run.id).toBe(run.id);
    const done = await waitRun(run.id);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['p', 'completed'],
      ['l', 'completed'],
    ]);
    expect(done.steps[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect((await names('Projects')).filter((n) => n === 'From HTTP')).toHaveLength(1);
    const runs = await json(await app.fetch(`/api/workflows/${workflowId}/runs`));
    expect(runs.total).toBe(1);
  });

  it('cancels a waiting run (it compensates) and retries it as a new run', async () => {
    const wf = await json(
      await app.fetch('/api/workflows', {
        method: 'POST',
        json: {
          name: 'Slow',
          steps: [
            {
              name: 'p',
              type: 'tool',
              tool: 'create_record',
              args: { table_id: 'Projects', fields: { Name: 'Cancelled one' } },
            },
            { name: 'wait', type: 'delay', seconds: 3600 },
          ],
        },
      }),
    );
    const { run } = await json(
      await app.fetch(`/api/workflows/${wf.workflow.id}/trigger`, { method: 'POST', json: {} }),
    );
    await waitRun(run.id, (s) => s === 'running');
    for (let i = 0; i < 100; i++) {
      const r = await json(await app.fetch(`/api/runs/${run.id}`));
      if (r.steps[1]?.status === 'waiting') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancel = await app.fetch(`/api/runs/${run.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    const ended = await waitRun(run.id);
    expect(ended.status).toBe('cancelled');
    expect(await names('Projects')).not.toContain('Cancelled one');
    const again = await app.fetch(`/api/runs/${run.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    const retry = await app.fetch(`/api/runs/${run.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const retried = (await json(retry)).run;
    expect(retried.id).not.toBe(run.id);
    await app.fetch(`/api/runs/${retried.id}/cancel`, { method: 'POST' });
    expect((await waitRun(retried.id)).status).toBe('cancelled');
  });

  it('sagas: types, start (202 {saga_id, status}), get with steps, list; unknown type is 400', async () => {
    const types = await json(await app.fetch('/api/sagas/types'));
    expect(types.types.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['linked_records', 'airtable_integration', 'apply_changes']),
    );
    expect(types.types[0].input_schema.type).toBe('object');
    const start = await app.fetch('/api/sagas/start', {
      method: 'POST',
      json: {
        saga_type: 'linked_records',
        correlation_id: 'c-1',
        input_data: {
          parent: { table: 'Projects', fields: { Name: 'Saga parent' } },
          children: Array.from({ length: 12 }, (_, i) => ({
            table: 'Tasks',
            link_field: 'Project',
            fields: { Title: `Kid ${i}` },
          })),
        },
      },
    });
    expect(start.status).toBe(202);
    const { saga_id, status } = await json(start);
    expect(status).toBe('pending');
    await waitRun(saga_id);
    const saga = await json(await app.fetch(`/api/sagas/${saga_id}`));
    expect(saga.status).toBe('completed');
    expect(saga.correlation_id).toBe('c-1');
    expect(saga.steps).toHaveLength(2);
    const parentId = saga.output.parent_id as string;
    const tasks = await airtable.listRecords(BASE, 'Tasks', {
      filterByFormula: "FIND('Kid ', {Title})",
      maxRecords: 1000,
    });
    expect(tasks.records).toHaveLength(12);
    for (const t of tasks.records) expect(t.fields.Project).toEqual([parentId]);
    const list = await json(await app.fetch('/api/sagas?saga_type=linked_records'));
    expect(list.sagas.map((s: { saga_id: string }) => s.saga_id)).toContain(saga_id);
    const unknown = await app.fetch('/api/sagas', {
      method: 'POST',
      json: { saga_type: 'user_onboarding', input_data: {} },
    });
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).detail).toMatch(/linked_records/);
    const badInput = await app.fetch('/api/sagas', {
      method: 'POST',
      json: { saga_type: 'linked_records', input_data: {} },
    });
    expect(badInput.status).toBe(400);
    const cancelDone = await app.fetch(`/api/sagas/${saga_id}/cancel`, { method: 'POST' });
    expect(cancelDone.status).toBe(400);
  });

  it('airtable_integration creates the metadata table', async () => {
    const start = await json(
      await app.fetch('/api/sagas', {
        method: 'POST',
        json: { saga_type: 'airtable_integration', input_data: { base_id: BASE } },
      }),
    );
    const run = await waitRun(start.saga_id);
    expect(run.status, run.error).toBe('completed');
    const tables = (await airtable.getBaseSchema(BASE)).map((t) => t.name);
    expect(tables.some((n) => /metadata/i.test(n))).toBe(true);
  });

  it('a webhook URL runs its workflow without a key; a wrong secret is 404', async () => {
    const created = await json(
      await app.fetch('/api/workflows', {
        method: 'POST',
        json: {
          name: 'Hook',
          triggers: [{ type: 'webhook' }],
          steps: [
            {
              name: 'p',
              type: 'tool',
              tool: 'create_record',
              args: { table_id: 'Projects', fields: { Name: '{{input.title}}' } },
            },
          ],
        },
      }),
    );
    expect(created.workflow.webhook_path).toMatch(/^\/api\/workflows\/hooks\//);
    const hook = await app.fetch(created.workflow.webhook_path, {
      method: 'POST',
      json: { title: 'Via hook' },
    });
    expect(hook.status).toBe(202);
    const { run } = await json(hook);
    expect((await waitRun(run.id)).status).toBe('completed');
    expect(await names('Projects')).toContain('Via hook');
    const wrong = await app.fetch('/api/workflows/hooks/not-the-secret-at-all', { method: 'POST', json: {} });
    expect(wrong.status).toBe(404);
  });

  it('uploads a CSV and imports 1,000 rows with bad rows reported; a file_uploaded workflow fires', async () => {
    const wf = await json(
      await app.fetch('/api/workflows', {
        method: 'POST',
        json: {
          name: 'Import uploads',
          triggers: [{ type: 'file_uploaded', file_extensions: ['csv'] }],
          steps: [{ name: 'import', type: 'import_file', file_id: '{{input.file_id}}', table: 'Tasks' }],
        },
      }),
    );
    const lines = ['Title,Estimate Hours,Completed'];
    for (let i = 0; i < 1000; i++)
      lines.push(i % 100 === 7 ? `Bad ${i},lots,yes` : `Row ${i},${i % 9},${i % 2 ? 'yes' : 'no'}`);
    const form = new FormData();
    form.append('file', new Blob([lines.join('\n')], { type: 'text/csv' }), 'tasks.csv');
    const up = await app.fetch('/api/files', { method: 'POST', body: form });
    expect(up.status).toBe(201);
    const uploaded = await json(up);
    expect(uploaded.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(uploaded.triggered_runs).toHaveLength(1);
    const run = await waitRun(uploaded.triggered_runs[0]);
    expect(run.status, run.error).toBe('completed');
    const result = run.steps[0].result;
    expect(result.rows).toBe(1000);
    expect(result.created).toBe(990);
    expect(result.failed).toBe(10);
    expect(result.failures[0].row).toBe(9);
    expect(result.failures[0].error).toMatch(/Estimate Hours/);
    const tasks = await airtable.listRecords(BASE, 'Tasks', {
      filterByFormula: "FIND('Row ', {Title})",
      maxRecords: 5000,
    });
    expect(tasks.records).toHaveLength(990);
    expect(wf.workflow.id).toBeTruthy();

    const tooBig = new FormData();
    tooBig.append('file', new Blob(['x']), 'evil.exe');
    const refused = await app.fetch('/api/files', { method: 'POST', body: tooBig });
    expect(refused.status).toBe(415);
  }, 120_000);

  it('an import with rollback_on_error leaves the table as it was', async () => {
    const before = (await airtable.listRecords(BASE, 'People', { maxRecords: 5000 })).records.length;
    const form = new FormData();
    form.append(
      'file',
      new Blob(['Name,Start Date\nA,2024-01-01\nB,not a date\nC,2024-02-02']),
      'people.csv',
    );
    const { file } = await json(await app.fetch('/api/files', { method: 'POST', body: form }));
    const wf = await json(
      await app.fetch('/api/workflows', {
        method: 'POST',
        json: {
          name: 'All or nothing import',
          steps: [
            {
              name: 'import',
              type: 'import_file',
              file_id: file.id,
              table: 'People',
              rollback_on_error: true,
            },
          ],
        },
      }),
    );
    const { run } = await json(
      await app.fetch(`/api/workflows/${wf.workflow.id}/trigger`, { method: 'POST', json: {} }),
    );
    const ended = await waitRun(run.id);
    expect(ended.status).toBe('compensated');
    expect(ended.error).toMatch(/row 3/);
    expect((await airtable.listRecords(BASE, 'People', { maxRecords: 5000 })).records.length).toBe(before);
  });

  it('lists the routes in the OpenAPI document', async () => {
    const doc = await json(await app.fetch('/api/openapi.json'));
    for (const path of ['/workflows', '/workflows/{id}/trigger', '/runs/{id}', '/sagas/start', '/files']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});
