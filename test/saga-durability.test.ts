/**
 * Durability: a worker process killed with SIGKILL in the middle of a write
 * (and in the middle of compensation); another worker takes the run over
 * once the lease expires and finishes or compensates it with no duplicate
 * records. On PostgreSQL, several engines claiming at once never run the
 * same run twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteJournal } from '../src/saga/airtable-ops.js';
import type { SagaEngine } from '../src/saga/engine.js';
import type { Plan, RunRow } from '../src/saga/types.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/options.js';
import {
  BASE,
  makeEngine,
  migrateSaga,
  postgresBackend,
  snapshot,
  sqliteBackend,
  USER,
} from './saga-fixtures.js';

function startChild(dbUrl: string, sandbox: SandboxHandle, workerId: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/saga-child.ts'], {
    env: {
      ...process.env,
      SAGA_DB: dbUrl,
      SANDBOX_URL: sandbox.url,
      SANDBOX_TOKEN: sandbox.token,
      WORKER_ID: workerId,
      LEASE_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

for (const backend of [sqliteBackend(), postgresBackend()]) {
  describe.skipIf(backend.skip)(`saga durability on ${backend.label}`, () => {
    let sandbox: SandboxHandle;
    let db: Kysely<unknown>;
    let engine: SagaEngine;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      sandbox = await startSandbox({ rateLimit: false });
      await backend.setup();
      db = await backend.connect();
      await migrateSaga(db, backend.dialect);
      engine = makeEngine(db, backend.dialect, sandbox, { leaseMs: 1000 }, 'w_survivor');
    });

    afterAll(async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await engine?.stop();
      await db?.destroy();
      await backend.teardown();
      await sandbox?.stop();
    });

    it('kill -9 during a write: the run is finished by another worker, no record twice, completed steps not re-run', async () => {
      const names = Array.from({ length: 60 }, (_, i) => `Crash ${backend.label} ${i}`);
      const plan = {
        steps: [
          {
            name: 'first',
            type: 'tool',
            tool: 'create_record',
            args: { table_id: 'Projects', fields: { Name: 'Head' } },
          },
          {
            name: 'many',
            type: 'tool',
            tool: 'batch_create_records',
            args: { table_id: 'People', records: names.map((Name) => ({ Name })) },
          },
          { name: 'last', type: 'log', message: 'done' },
        ],
      } as unknown as Plan;
      // Slow answers, so the kill lands while a chunk is on the wire.
      sandbox.setFaults({ latencyMs: 120, pathPrefix: `/v0/${BASE}/` });
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'crash' });
      const runId = started!.run.id;
      const child = await startChild(backend.url(), sandbox, 'w_doomed');
      children.push(child);
      await waitFor('a chunk on the wire', async () => {
        const steps = await engine.repo.getSteps(runId);
        const journal = steps[1]?.journal ? (JSON.parse(steps[1].journal) as WriteJournal) : undefined;
        const sending = journal?.chunks.find((c) => c.status === 'sending' && c.n >= 2);
        return sending ? true : undefined;
      });
      await kill9(child);
      sandbox.setFaults(undefined);
      const held = (await engine.repo.getRun(runId))!;
      expect(held.lease_owner).toBe('w_doomed');
      const firstId = JSON.parse((await engine.repo.getSteps(runId))[0]!.result!).id as string;

      const run = await engine.runUntilDone(runId);
      expect(run.status, run.error ?? '').toBe('completed');
      const people = await snapshot(sandbox, 'People');
      const made = people.filter((p) => names.includes(String(p.fields.Name)));
      expect(made).toHaveLength(60);
      expect(new Set(made.map((p) => p.fields.Name)).size).toBe(60);
      const steps = await engine.repo.getSteps(runId);
      // The first step ran once: its record is the one it made before the crash, and there is only one "Head".
      expect(JSON.parse(steps[0]!.result!).id).toBe(firstId);
      expect(steps[0]!.attempts).toBe(1);
      expect((await snapshot(sandbox, 'Projects')).filter((p) => p.fields.Name === 'Head')).toHaveLength(1);
      expect(steps[1]!.attempts).toBe(2);
      expect(steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    });

    it('kill -9 during compensation: the other worker finishes undoing, the base is as before', async () => {
      const before = await snapshot(sandbox, 'Tasks');
      const plan = {
        steps: [
          {
            name: 'many',
            type: 'tool',
            tool: 'batch_create_records',
            args: {
              table_id: 'Tasks',
              records: Array.from({ length: 50 }, (_, i) => ({ Title: `Undo ${i}` })),
            },
          },
          { name: 'fail', type: 'condition', condition: { left: 0, op: 'truthy' }, on_false: 'fail' },
        ],
      } as unknown as Plan;
      const started = await engine.start({ plan, input: {}, principal: USER, name: 'crash in undo' });
      const runId = started!.run.id;
      sandbox.setFaults({ latencyMs: 100, pathPrefix: `/v0/${BASE}/` });
      const child = await startChild(backend.url(), sandbox, 'w_doomed2');
      children.push(child);
      await waitFor('compensation under way', async () => {
        const [step] = await engine.repo.getSteps(runId);
        const undo = step?.compensation_result
          ? (JSON.parse(step.compensation_result) as { deleted?: string[] })
          : {};
        return (undo.deleted?.length ?? 0) >= 10 ? true : undefined;
      });
      await kill9(child);
      sandbox.setFaults(undefined);
      const run: RunRow = await engine.runUntilDone(runId);
      expect(run.status).toBe('compensated');
      expect(await snapshot(sandbox, 'Tasks')).toEqual(before);
    });

    it.skipIf(backend.dialect !== 'postgres')(
      'three engines claiming at once never run the same run twice',
      async () => {
        const others = [1, 2].map(async (n) =>
          makeEngine(await backend.connect(), backend.dialect, sandbox, { leaseMs: 5000 }, `w_r${n}`),
        );
        const engines = [engine, ...(await Promise.all(others))];
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) {
          const plan = {
            steps: [
              {
                name: 'one',
                type: 'tool',
                tool: 'create_record',
                args: { table_id: 'Projects', fields: { Name: `Replica run ${i}` } },
              },
            ],
          } as unknown as Plan;
          ids.push((await engine.start({ plan, input: {}, principal: USER, name: `r${i}` }))!.run.id);
        }
        await Promise.all(engines.map((e) => Promise.all(ids.map((id) => e.runUntilDone(id)))));
        const projects = await snapshot(sandbox, 'Projects');
        for (let i = 0; i < 12; i++) {
          expect(projects.filter((p) => p.fields.Name === `Replica run ${i}`)).toHaveLength(1);
        }
        const steps = await Promise.all(ids.map((id) => engine.repo.getSteps(id)));
        expect(steps.map((s) => s[0]!.attempts)).toEqual(ids.map(() => 1));
        for (const e of engines.slice(1)) await e.stop();
      },
    );
  });
}
