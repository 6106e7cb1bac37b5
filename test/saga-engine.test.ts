/**
 * The saga engine on SQLite and PostgreSQL, against the sandbox over real
 * HTTP: completed runs with templating, a failing third step that leaves the
 * base exactly as before, compensation that cannot succeed (needs_attention),
 * cancellation, idempotency keys, retries after lost answers, durable delays.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirtableClient } from '../src/airtable/index.js';
import type { SagaEngine } from '../src/saga/engine.js';
import type { Plan } from '../src/saga/types.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import {
  anyRecordId,
  BASE,
  makeEngine,
  migrateSaga,
  postgresBackend,
  snapshot,
  sqliteBackend,
  USER,
} from './saga-fixtures.js';

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe.skipIf(backend.skip)(`saga engine on ${backend.label}`, () => {
    let sandbox: SandboxHandle;
    let db: Kysely<unknown>;
    let engine: SagaEngine;

    beforeAll(async () => {
      sandbox = await startSandbox({ rateLimit: false });
      await backend.setup();
      db = await backend.connect();
      await migrateSaga(db, backend.dialect);
      engine = makeEngine(db, backend.dialect, sandbox);
    });

    afterAll(async () => {
      await engine?.stop();
      await db?.destroy();
      await backend.teardown();
      await sandbox?.stop();
    });

    it('runs steps in order with templating and stores each step', async () => {
      const plan: Plan = {
        compensate: true,
        steps: [
          {
            name: 'project',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: '{{input.name}}' } },
          },
          {
            name: 'tasks',
            type: 'tool',
            tool: 'batch_create_records',
            args: {
              table_id: 'Tasks',
              records: [
                { Title: 'First', Project: ['{{steps.project.output.id}}'] },
                { Title: 'Second', Project: ['{{steps.project.output.id}}'] },
              ],
            },
          },
          {
            name: 'check',
            type: 'condition',
            condition: { left: '{{steps.tasks.output.count}}', op: 'equals', right: 2 },
            on_false: 'fail',
          },
          { name: 'note', type: 'log', message: 'created {{steps.tasks.output.count}} tasks', level: 'info' },
        ],
        output: { project: '{{steps.project.output.id}}', tasks: '{{steps.tasks.output.ids}}' },
      } as Plan;
      const started = await engine.start({
        plan,
        input: { name: 'Saga demo' },
        principal: USER,
        name: 'demo',
      });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status, run.error ?? '').toBe('completed');
      const output = JSON.parse(run.output!) as { project: string; tasks: string[] };
      expect(output.tasks).toHaveLength(2);
      const tasks = await snapshot(sandbox, 'Tasks');
      for (const id of output.tasks) {
        expect(tasks.find((t) => t.id === id)?.fields.Project).toEqual([output.project]);
      }
      const steps = await engine.repo.getSteps(run.id);
      expect(steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
        ['project', 'completed', 1],
        ['tasks', 'completed', 1],
        ['check', 'completed', 0],
        ['note', 'completed', 1],
      ]);
      expect(JSON.parse(steps[1]!.input!).args.records[0].Project).toEqual([output.project]);
    });

    it('a saga whose third step fails leaves the base exactly as before', async () => {
      const projectsBefore = await snapshot(sandbox, 'Projects');
      const tasksBefore = await snapshot(sandbox, 'Tasks');
      const existing = projectsBefore[0]!;
      const plan = {
        steps: [
          {
            name: 'create',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: 'Temp' } },
          },
          {
            name: 'update',
            type: 'tool',
            tool: 'update_record',
            args: {
              table_id: 'Projects',
              record_id: existing.id,
              fields: { Name: 'Renamed', Description: 'changed' },
            },
          },
          {
            name: 'tasks',
            type: 'tool',
            tool: 'batch_create_records',
            // The second record has a value the field does not take: the step fails for good.
            args: {
              table_id: 'Tasks',
              records: [{ Title: 'ok' }, { Title: 'bad', 'Estimate Hours': 'many' }],
            },
          },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'third fails' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status, run.error ?? '').toBe('compensated');
      expect(run.error).toMatch(/Step "tasks" failed/);
      expect(await snapshot(sandbox, 'Projects')).toEqual(projectsBefore);
      expect(await snapshot(sandbox, 'Tasks')).toEqual(tasksBefore);
      const steps = await engine.repo.getSteps(run.id);
      expect(steps.map((s) => [s.name, s.status, s.compensation_status])).toEqual([
        ['create', 'completed', 'done'],
        ['update', 'completed', 'done'],
        ['tasks', 'failed', expect.stringMatching(/done|not_needed/)],
      ]);
    });

    it('a compensation that cannot succeed leaves needs_attention with what is left', async () => {
      const plan = {
        steps: [
          {
            name: 'create',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: 'Kept' } },
          },
          {
            name: 'notify',
            type: 'tool',
            tool: 'get_records',
            args: { table_id: 'Projects', max_records: 1 },
            compensation: { type: 'tool', tool: 'no_such_tool', args: {} },
          },
          { name: 'boom', type: 'tool', tool: 'get_records', args: { table_id: 'No Such Table' } },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'attention' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status).toBe('needs_attention');
      const attention = JSON.parse(run.attention!) as { step: string; error: string }[];
      expect(attention.map((a) => a.step)).toEqual(['notify']);
      expect(attention[0]!.error).toMatch(/no_such_tool/);
      // The Airtable write was still undone.
      const steps = await engine.repo.getSteps(run.id);
      const created = JSON.parse(steps[0]!.result!).id as string;
      expect((await snapshot(sandbox, 'Projects')).some((p) => p.id === created)).toBe(false);
      expect(steps[0]!.compensation_status).toBe('done');
    });

    it('a step recorded as failed before a crash (compensation not begun) makes the resumed run compensate', async () => {
      const plan = {
        steps: [
          { name: 'a', type: 'log', message: 'a' },
          { name: 'b', type: 'log', message: 'b' },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'crash window' });
      const id = started!.run.id;
      const now = new Date().toISOString();
      await engine.repo.db
        .updateTable('saga_runs')
        .set({ status: 'running', started_at: now })
        .where('id', '=', id)
        .execute();
      await engine.repo.db
        .insertInto('saga_steps')
        .values({
          run_id: id,
          idx: 0,
          name: 'a',
          type: 'log',
          status: 'failed',
          attempts: 3,
          input: '{}',
          outcome: 'error',
          result: null,
          error: 'boom',
          journal: null,
          compensation_status: 'none',
          compensation_result: null,
          compensation_error: null,
          compensation_attempts: 0,
          started_at: now,
          finished_at: now,
          compensated_at: null,
        })
        .execute();
      const run = await engine.runUntilDone(id);
      expect(run.status).toBe('compensated');
      expect(run.error).toMatch(/Step "a" failed: boom/);
      expect((await engine.repo.getSteps(id)).map((s) => s.name)).toEqual(['a']);
    });

    it('renames of a table and a field are restored by compensation', async () => {
      const client = new AirtableClient({ token: sandbox.token, baseUrl: sandbox.url });
      const before = (await client.getBaseSchema(BASE)).find((t) => t.name === 'Tasks')!;
      const notes = before.fields.find((f) => f.name === 'Notes')!;
      const plan = {
        steps: [
          {
            name: 'field',
            type: 'tool',
            tool: 'update_field',
            args: { table_id: 'Tasks', field_id: 'Notes', name: 'Remarks', description: 'new' },
          },
          { name: 'table', type: 'tool', tool: 'update_table', args: { table_id: 'Tasks', name: 'Jobs' } },
          { name: 'boom', type: 'condition', condition: { left: false, op: 'truthy' }, on_false: 'fail' },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'schema undo' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status, run.error ?? '').toBe('compensated');
      const steps = await engine.repo.getSteps(run.id);
      expect(steps.map((s) => s.status)).toEqual(['completed', 'completed', 'failed']);
      const after = (await client.getBaseSchema(BASE)).find((t) => t.id === before.id)!;
      expect(after.name).toBe('Tasks');
      const field = after.fields.find((f) => f.id === notes.id)!;
      expect(field.name).toBe('Notes');
      expect(field.description ?? '').toBe(notes.description ?? '');
    });

    it('starting with the same idempotency key twice returns the first run', async () => {
      const plan = { steps: [{ name: 'l', type: 'log', message: 'hi' }] } as unknown as Plan;
      const a = await engine.start({
        plan,
        input: {},
        principal: USER,
        name: 'k',
        idempotencyKey: 'same-key',
      });
      const b = await engine.start({
        plan,
        input: {},
        principal: USER,
        name: 'k',
        idempotencyKey: 'same-key',
      });
      expect(a!.created).toBe(true);
      expect(b!.created).toBe(false);
      expect(b!.run.id).toBe(a!.run.id);
    });

    it('cancelling a run waiting in a durable delay undoes its writes', async () => {
      const plan = {
        steps: [
          {
            name: 'create',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: 'Soon gone' } },
          },
          { name: 'wait', type: 'delay', seconds: 3600 },
          { name: 'never', type: 'log', message: 'not reached' },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'cancel me' });
      for (let i = 0; i < 100; i++) {
        await engine.tick();
        const steps = await engine.repo.getSteps(started!.run.id);
        if (steps[1]?.status === 'waiting') break;
      }
      const waiting = await engine.repo.getRun(started!.run.id);
      expect(waiting!.status).toBe('running');
      expect(Date.parse(waiting!.wake_at!)).toBeGreaterThan(Date.now() + 3000_000);
      expect(await engine.cancel(started!.run.id)).toBe(true);
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status).toBe('cancelled');
      const steps = await engine.repo.getSteps(run.id);
      const id = JSON.parse(steps[0]!.result!).id as string;
      expect((await snapshot(sandbox, 'Projects')).some((p) => p.id === id)).toBe(false);
      expect(steps.map((s) => s.name)).toEqual(['create', 'wait']);
    });

    it('retries a step whose request got no answer without duplicating records', async () => {
      const before = (await snapshot(sandbox, 'People')).length;
      // Every request fails for a moment (the client gives up after 2 attempts), then Airtable answers again.
      sandbox.setFaults({ sequence: ['drop', 'drop', 'drop', 'drop'], pathPrefix: `/v0/${BASE}/` });
      const plan = {
        steps: [
          {
            name: 'people',
            type: 'tool',
            tool: 'batch_create_records',
            retry: { max_attempts: 5, backoff_ms: 10, max_backoff_ms: 50 },
            args: { table_id: 'People', records: Array.from({ length: 25 }, (_, i) => ({ Name: `P${i}` })) },
          },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'lost answers' });
      const run = await engine.runUntilDone(started!.run.id);
      sandbox.setFaults(undefined);
      expect(run.status, run.error ?? '').toBe('completed');
      const after = await snapshot(sandbox, 'People');
      expect(after.length).toBe(before + 25);
      expect(
        new Set(after.filter((p) => /^P\d+$/.test(String(p.fields.Name))).map((p) => p.fields.Name)).size,
      ).toBe(25);
      const [step] = await engine.repo.getSteps(run.id);
      expect(step!.attempts).toBeGreaterThan(1);
    });

    it('refuses a base the principal may not use, before Airtable is asked', async () => {
      const plan = {
        steps: [
          {
            name: 'other',
            type: 'tool',
            tool: 'create_record',
            args: { base_id: 'appSandboxArchive', table_id: 'Projects', fields: { Name: 'x' } },
          },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'denied' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status).toBe('compensated');
      expect(run.error).toMatch(/may not use base appSandboxArchive/);
    });

    it('links 30 records created across two tables to the parent, all or nothing', async () => {
      const tasksBefore = await snapshot(sandbox, 'Tasks');
      const projectsBefore = await snapshot(sandbox, 'Projects');
      const plan = {
        steps: [
          {
            name: 'parent',
            type: 'airtable_write',
            write: { op: 'create', table: 'Projects', records: [{ ref: 'p', fields: { Name: 'Parent' } }] },
          },
          {
            name: 'children',
            type: 'airtable_write',
            write: {
              op: 'create',
              table: 'Tasks',
              records: Array.from({ length: 30 }, (_, i) => ({
                ref: `t${i}`,
                fields: { Title: `Child ${i}`, Project: [{ $ref: 'p' }] },
              })),
            },
          },
          {
            name: 'broken',
            type: 'airtable_write',
            write: {
              op: 'update',
              table: 'Tasks',
              records: [{ id: { $ref: 't3' }, fields: { 'Estimate Hours': 'NaN' } }],
            },
          },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'linked' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status, run.error ?? '').toBe('compensated');
      const steps = await engine.repo.getSteps(run.id);
      expect(JSON.parse(steps[1]!.result!).count).toBe(30);
      expect(await snapshot(sandbox, 'Tasks')).toEqual(tasksBefore);
      expect(await snapshot(sandbox, 'Projects')).toEqual(projectsBefore);
    });

    it('a deleted record is re-created by compensation (with a new id)', async () => {
      const id = await anyRecordId(sandbox, 'People');
      const before = (await snapshot(sandbox, 'People')).find((p) => p.id === id)!;
      const plan = {
        steps: [
          { name: 'del', type: 'tool', tool: 'delete_record', args: { table_id: 'People', record_id: id } },
          { name: 'boom', type: 'condition', condition: { left: false, op: 'truthy' }, on_false: 'fail' },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'undelete' });
      const run = await engine.runUntilDone(started!.run.id);
      expect(run.status).toBe('compensated');
      const steps = await engine.repo.getSteps(run.id);
      const undo = JSON.parse(steps[0]!.compensation_result!) as {
        recreated: { old_id: string; new_id: string }[];
      };
      expect(undo.recreated[0]!.old_id).toBe(id);
      const people = await snapshot(sandbox, 'People');
      expect(people.some((p) => p.id === id)).toBe(false);
      const again = people.find((p) => p.id === undo.recreated[0]!.new_id)!;
      expect(again.fields.Name).toBe(before.fields.Name);
      expect(again.fields.Email).toBe(before.fields.Email);
    });
  });
}
