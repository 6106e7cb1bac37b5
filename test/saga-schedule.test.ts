/**
 * Cron triggers, the apply_changes tool and GDPR hooks, on SQLite and
 * PostgreSQL against the sandbox: two replicas sharing one database fire
 * each due time of a cron workflow exactly once (six-field cron, every two
 * seconds, over at least three due times); after downtime only the latest
 * missed time fires; apply_changes with 30 linked creates, and all or nothing
 * when a change fails; a user's workflows and runs exported and erased.
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import type { SagaEngine } from '../src/saga/engine.js';
import { FileStore } from '../src/saga/files.js';
import { defaultSagaOptions } from '../src/saga/options.js';
import { SagaService } from '../src/saga/service.js';
import { sagaTools } from '../src/saga/tools.js';
import type { WorkflowInput } from '../src/saga/types.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import type { SchemaCache, ToolContext } from '../src/tools/context.js';
import { makeEngine, migrateSaga, postgresBackend, snapshot, sqliteBackend, USER } from './saga-fixtures.js';

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe.skipIf(backend.skip)(`saga schedules and tools on ${backend.label}`, () => {
    let sandbox: SandboxHandle;
    let db: Kysely<unknown>;
    let engine: SagaEngine;
    let service: SagaService;

    beforeAll(async () => {
      sandbox = await startSandbox({ rateLimit: false });
      await backend.setup();
      db = await backend.connect();
      await migrateSaga(db, backend.dialect);
      engine = makeEngine(db, backend.dialect, sandbox, {}, 'w_a');
      service = new SagaService({
        repo: engine.repo,
        engine,
        options: defaultSagaOptions(),
        logger: silentLogger(),
      });
    });

    afterAll(async () => {
      await engine?.stop();
      await db?.destroy();
      await backend.teardown();
      await sandbox?.stop();
    });

    it(`a cron workflow fires once per due time with two replicas${backend.dialect === 'sqlite' ? ' (two schedulers in one process)' : ''}`, async () => {
      // SQLite is single-process (one connection; better-sqlite3 waits for a lock synchronously): there the
      // second scheduler shares the process's engine. PostgreSQL: a second replica with its own pool.
      const other =
        backend.dialect === 'postgres'
          ? makeEngine(await backend.connect(), backend.dialect, sandbox, {}, 'w_b')
          : engine;
      const otherService = new SagaService({
        repo: other.repo,
        engine: other,
        options: defaultSagaOptions(),
        logger: silentLogger(),
      });
      const input: WorkflowInput = {
        name: 'Every two seconds',
        steps: [
          { name: 'note', type: 'log', message: 'tick {{input.scheduled_at}}', level: 'info' },
        ] as never,
        compensate: true,
        triggers: [{ type: 'cron', cron: '*/2 * * * * *', timezone: 'Europe/Berlin' }],
        status: 'active',
      };
      const wf = (await service.createWorkflow(USER, input)) as { id: string };
      const until = Date.now() + 7_500;
      while (Date.now() < until) {
        await Promise.all([service.scheduleTick(), otherService.scheduleTick(), service.scheduleTick()]);
        await Promise.all([engine.tick(), other.tick()]);
        await new Promise((r) => setTimeout(r, 100));
      }
      await service.updateWorkflow(USER, wf.id, { status: 'paused' });
      const fires = await engine.repo.firesOf(wf.id);
      expect(fires.length).toBeGreaterThanOrEqual(3);
      const { rows } = await engine.repo.listRuns({ workflowId: wf.id, limit: 1000, skip: 0 });
      expect(rows).toHaveLength(fires.length);
      const due = rows.map((r) => JSON.parse(r.input).scheduled_at as string);
      expect(new Set(due).size).toBe(due.length);
      for (const at of due) expect(new Date(at).getUTCSeconds() % 2).toBe(0);
      for (const run of rows) await engine.runUntilDone(run.id);
      if (other !== engine) await other.stop();
    });

    it('after downtime only the latest missed time fires; one older than the catch-up window is skipped', async () => {
      const wf = (await service.createWorkflow(USER, {
        name: 'Hourly',
        steps: [{ name: 'note', type: 'log', message: 'x', level: 'info' }] as never,
        compensate: true,
        triggers: [{ type: 'cron', cron: '0 * * * *' }],
        status: 'active',
      })) as { id: string };
      const hour = 3_600_000;
      const lastHour = Math.floor(Date.now() / hour) * hour;
      // Down for five hours: the stored next time is five hours ago.
      await engine.repo.updateWorkflow(wf.id, { next_fire_at: new Date(lastHour - 4 * hour).toISOString() });
      await service.scheduleTick();
      const fires = await engine.repo.firesOf(wf.id);
      expect(fires.map((f) => f.due_at)).toEqual([new Date(lastHour).toISOString()]);
      const next = (await engine.repo.getWorkflow(wf.id))!.next_fire_at!;
      expect(Date.parse(next)).toBe(lastHour + hour);

      const strict = new SagaService({
        repo: engine.repo,
        engine,
        options: defaultSagaOptions({ catchUpSeconds: 0 }),
        logger: silentLogger(),
      });
      const wf2 = (await service.createWorkflow(USER, {
        name: 'Hourly strict',
        steps: [{ name: 'note', type: 'log', message: 'x', level: 'info' }] as never,
        compensate: true,
        triggers: [{ type: 'cron', cron: '0 * * * *' }],
        status: 'active',
      })) as { id: string };
      await engine.repo.updateWorkflow(wf2.id, { next_fire_at: new Date(lastHour - hour).toISOString() });
      await strict.scheduleTick();
      expect(await engine.repo.firesOf(wf2.id)).toEqual([]);
      expect(Date.parse((await engine.repo.getWorkflow(wf2.id))!.next_fire_at!)).toBe(lastHour + hour);
    });

    function toolCtx(): ToolContext {
      return {
        client: undefined as never,
        schemas: undefined as unknown as SchemaCache,
        maxResponseChars: 100_000,
        signal: new AbortController().signal,
        progress: async () => {},
        logger: silentLogger(),
        principal: USER,
      };
    }

    it('apply_changes: a parent and 30 linked tasks, then an all-or-nothing failure undoes everything', async () => {
      const tools = sagaTools(service, new FileStore(engine.repo, defaultSagaOptions()));
      const apply = tools.find((t) => t.name === 'apply_changes')!;
      engine.startWorker();
      const changes = [
        { op: 'create', table: 'Projects', ref: 'p', fields: { Name: 'Thirty tasks' } },
        ...Array.from({ length: 30 }, (_, i) => ({
          op: 'create',
          table: 'Tasks',
          ref: `t${i}`,
          fields: { Title: `Linked ${i}`, Project: [{ $ref: 'p' }] },
        })),
        { op: 'update', table: 'Tasks', id: { $ref: 't0' }, fields: { Notes: 'first' } },
      ];
      const args = apply.inputSchema.parse({ changes });
      const ok = await apply.run(args as never, toolCtx());
      const out = ok.structured as { applied: boolean; refs: Record<string, string> };
      expect(out.applied).toBe(true);
      expect(Object.keys(out.refs)).toHaveLength(31);
      const tasks = await snapshot(sandbox, 'Tasks');
      const linked = tasks.filter((t) => String(t.fields.Title).startsWith('Linked '));
      expect(linked).toHaveLength(30);
      for (const t of linked) expect(t.fields.Project).toEqual([out.refs.p]);
      expect(linked.find((t) => t.id === out.refs.t0)!.fields.Notes).toBe('first');

      const projectsBefore = await snapshot(sandbox, 'Projects');
      const tasksBefore = await snapshot(sandbox, 'Tasks');
      const failing = apply.inputSchema.parse({
        changes: [
          { op: 'update', table: 'Projects', id: out.refs.p, fields: { Name: 'Renamed' } },
          { op: 'delete', table: 'Tasks', id: out.refs.t5 },
          { op: 'create', table: 'Tasks', fields: { Title: 'New', 'Estimate Hours': 'not a number' } },
        ],
      });
      await expect(apply.run(failing as never, toolCtx())).rejects.toThrow(/Nothing was applied/);
      // The parent's inverse link lists the re-created task under its new id; everything else is as before.
      const withoutLinks = (rows: Awaited<ReturnType<typeof snapshot>>) =>
        rows.map(({ id, fields: { Tasks: _t, ...rest } }) => ({ id, fields: rest }));
      expect(withoutLinks(await snapshot(sandbox, 'Projects'))).toEqual(withoutLinks(projectsBefore));
      const tasksAfter = await snapshot(sandbox, 'Tasks');
      // The deleted task is back with its values (Airtable gives it a new id).
      expect(tasksAfter.length).toBe(tasksBefore.length);
      const back = tasksAfter.find((t) => t.fields.Title === 'Linked 5')!;
      expect(back.id).not.toBe(out.refs.t5);
      expect(back.fields.Project).toEqual([out.refs.p]);
    });

    it('a person sees only their own workflows and runs; an admin sees all', async () => {
      const bob = { ...USER, id: 'usr_bob', userId: 'usr_bob' };
      const admin = { ...USER, id: 'usr_root', userId: 'usr_root', role: 'admin' as const };
      const wf = (await service.createWorkflow(USER, {
        name: 'Alice only',
        steps: [{ name: 'n', type: 'log', message: 'x', level: 'info' }] as never,
        compensate: true,
        triggers: [{ type: 'manual' }],
        status: 'active',
      })) as { id: string };
      await expect(service.getWorkflow(bob, wf.id)).rejects.toMatchObject({ status: 404 });
      expect((await service.listWorkflows(bob, { skip: 0, limit: 100 })).total).toBe(0);
      expect((await service.getWorkflow(admin, wf.id)).name).toBe('Alice only');
      const { run } = await service.trigger(USER, await service.getWorkflowRow(USER, wf.id), {}, 'manual');
      await expect(service.getRun(bob, run.id)).rejects.toMatchObject({ status: 404 });
      await expect(service.cancelRun(bob, run.id)).rejects.toMatchObject({ status: 404 });
      await engine.runUntilDone(run.id);
    });

    it('GDPR: a user’s workflows, runs and steps are found and erased', async () => {
      const exported = (await service.repo.userData(USER.userId!)) as {
        workflows: unknown[];
        runs: unknown[];
      };
      expect(exported.workflows.length).toBeGreaterThan(0);
      expect(exported.runs.length).toBeGreaterThan(0);
      await service.repo.eraseUser(USER.userId!);
      const after = await service.repo.userData(USER.userId!);
      expect(after.workflows).toEqual([]);
      expect(after.runs).toEqual([]);
      expect(after.steps).toEqual([]);
    });
  });
}
