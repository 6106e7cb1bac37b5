/**
 * The saga module's storage: workflows, runs, steps, cron fires and files,
 * over the shared Kysely database (SQLite or PostgreSQL). A worker's writes
 * to a run it executes are fenced by its lease: once another worker has
 * claimed the run, they fail with LeaseLost instead of racing it.
 */
import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import type { StoreDialect } from '../store/types.js';
import {
  ACTIVE_STATUSES,
  type FileRow,
  type RunRow,
  type SagaTables,
  type StepRow,
  type WorkflowRow,
} from './types.js';

export class LeaseLost extends Error {
  override name = 'LeaseLost';
}

export type Db = Kysely<SagaTables>;
export type Tx = Transaction<SagaTables>;

export type NewRun = Omit<
  RunRow,
  | 'current_step'
  | 'output'
  | 'error'
  | 'attention'
  | 'cancel_requested'
  | 'lease_owner'
  | 'lease_expires_at'
  | 'started_at'
  | 'finished_at'
  | 'wake_at'
> & { wake_at?: string | null };

export interface RunFilter {
  ownerId?: string;
  workflowId?: string;
  sagaOnly?: boolean;
  sagaType?: string;
  status?: string;
  limit: number;
  skip: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SagaRepository {
  constructor(
    readonly db: Db,
    readonly dialect: StoreDialect,
    private readonly now: () => number = Date.now,
  ) {}

  /* ---------------------------------------------------------------- workflows */

  async insertWorkflow(row: WorkflowRow): Promise<void> {
    await this.db.insertInto('saga_workflows').values(row).execute();
  }

  getWorkflow(id: string): Promise<WorkflowRow | undefined> {
    return this.db.selectFrom('saga_workflows').selectAll().where('id', '=', id).executeTakeFirst();
  }

  getWorkflowByWebhook(hash: string): Promise<WorkflowRow | undefined> {
    return this.db
      .selectFrom('saga_workflows')
      .selectAll()
      .where('webhook_hash', '=', hash)
      .executeTakeFirst();
  }

  async listWorkflows(filter: {
    ownerId?: string;
    status?: string;
    limit: number;
    skip: number;
  }): Promise<{ rows: WorkflowRow[]; total: number }> {
    let query = this.db.selectFrom('saga_workflows');
    if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
    if (filter.status) query = query.where('status', '=', filter.status);
    const [rows, count] = await Promise.all([
      query
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(filter.limit)
        .offset(filter.skip)
        .execute(),
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  async updateWorkflow(id: string, patch: Partial<WorkflowRow>): Promise<void> {
    await this.db.updateTable('saga_workflows').set(patch).where('id', '=', id).execute();
  }

  async deleteWorkflow(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('saga_workflows').where('id', '=', id).executeTakeFirst();
    await this.db.deleteFrom('saga_fires').where('workflow_id', '=', id).execute();
    return Number(result.numDeletedRows) > 0;
  }

  /** Active cron workflows whose next fire time has come. */
  dueSchedules(nowIso: string): Promise<WorkflowRow[]> {
    return this.db
      .selectFrom('saga_workflows')
      .selectAll()
      .where('status', '=', 'active')
      .where('next_fire_at', 'is not', null)
      .where('next_fire_at', '<=', nowIso)
      .execute();
  }

  /** Workflows of this owner with a file_uploaded trigger. */
  fileTriggered(ownerId: string): Promise<WorkflowRow[]> {
    return this.db
      .selectFrom('saga_workflows')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('status', '=', 'active')
      .where('triggers', 'like', '%file_uploaded%')
      .execute();
  }

  /* ---------------------------------------------------------------- runs */

  /**
   * Inserts a run, or returns the one that already has its idempotency key.
   * `fire` (a cron due time) is claimed in the same transaction: when another
   * replica already fired it, nothing is inserted and undefined is returned.
   */
  async insertRun(
    run: NewRun,
    fire?: { workflowId: string; dueAt: string },
  ): Promise<{ run: RunRow; created: boolean } | undefined> {
    if (run.idempotency_key) {
      const existing = await this.runByKey(run.idempotency_key);
      if (existing) return { run: existing, created: false };
    }
    const full: RunRow = {
      current_step: 0,
      output: null,
      error: null,
      attention: null,
      cancel_requested: 0,
      lease_owner: null,
      lease_expires_at: null,
      started_at: null,
      finished_at: null,
      wake_at: null,
      ...run,
    };
    try {
      const inserted = await this.db.transaction().execute(async (trx) => {
        if (fire) {
          const claimed = await trx
            .insertInto('saga_fires')
            .values({
              workflow_id: fire.workflowId,
              due_at: fire.dueAt,
              run_id: full.id,
              fired_at: full.created_at,
            })
            .onConflict((oc) => oc.doNothing())
            .returning('due_at')
            .executeTakeFirst();
          if (!claimed) return false;
        }
        await trx.insertInto('saga_runs').values(full).execute();
        if (full.workflow_id) {
          await trx
            .updateTable('saga_workflows')
            .set((eb) => ({ run_count: eb('run_count', '+', 1), last_run_at: full.created_at }))
            .where('id', '=', full.workflow_id)
            .execute();
        }
        return true;
      });
      return inserted ? { run: full, created: true } : undefined;
    } catch (error) {
      // Two starts with one key at the same time: the unique index lets one in; return that one.
      if (run.idempotency_key) {
        const existing = await this.runByKey(run.idempotency_key);
        if (existing) return { run: existing, created: false };
      }
      throw error;
    }
  }

  runByKey(key: string): Promise<RunRow | undefined> {
    return this.db.selectFrom('saga_runs').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  }

  getRun(id: string): Promise<RunRow | undefined> {
    return this.db.selectFrom('saga_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listRuns(filter: RunFilter): Promise<{ rows: RunRow[]; total: number }> {
    let query = this.db.selectFrom('saga_runs');
    if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
    if (filter.workflowId) query = query.where('workflow_id', '=', filter.workflowId);
    if (filter.sagaOnly) query = query.where('saga_type', 'is not', null);
    if (filter.sagaType) query = query.where('saga_type', '=', filter.sagaType);
    if (filter.status) query = query.where('status', '=', filter.status as RunRow['status']);
    const [rows, count] = await Promise.all([
      query
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(filter.limit)
        .offset(filter.skip)
        .execute(),
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  getSteps(runId: string): Promise<StepRow[]> {
    return this.db.selectFrom('saga_steps').selectAll().where('run_id', '=', runId).orderBy('idx').execute();
  }

  getStepsOf(runIds: readonly string[]): Promise<StepRow[]> {
    if (!runIds.length) return Promise.resolve([]);
    return this.db
      .selectFrom('saga_steps')
      .selectAll()
      .where('run_id', 'in', runIds)
      .orderBy('run_id')
      .orderBy('idx')
      .execute();
  }

  /**
   * Claims up to `limit` runs that are due and not held by a live lease.
   * PostgreSQL: FOR UPDATE SKIP LOCKED, so replicas claiming at once take
   * different runs; the outer condition is checked again on the locked row.
   * SQLite: one writer at a time makes the UPDATE atomic.
   */
  async claimRuns(owner: string, limit: number, leaseMs: number): Promise<RunRow[]> {
    const now = iso(this.now());
    const until = iso(this.now() + leaseMs);
    const free = (eb: ExpressionBuilder<SagaTables, 'saga_runs'>) =>
      eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]);
    const due = (eb: ExpressionBuilder<SagaTables, 'saga_runs'>) =>
      eb.or([eb('wake_at', 'is', null), eb('wake_at', '<=', now)]);
    return this.db
      .updateTable('saga_runs')
      .set({ lease_owner: owner, lease_expires_at: until, updated_at: now })
      .where('id', 'in', (eb) => {
        let candidates = eb
          .selectFrom('saga_runs')
          .select('id')
          .where('status', 'in', ACTIVE_STATUSES as string[] as RunRow['status'][])
          .where(due)
          .where(free)
          .orderBy('created_at')
          .limit(limit);
        if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
        return candidates;
      })
      .where(free)
      .returningAll()
      .execute();
  }

  /** Extends this worker's lease; false when another worker holds the run now. */
  async renewLease(runId: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('saga_runs')
      .set({ lease_expires_at: iso(this.now() + leaseMs) })
      .where('id', '=', runId)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Gives a run back (wake_at: when it is due again). */
  async releaseLease(runId: string, owner: string): Promise<void> {
    await this.db
      .updateTable('saga_runs')
      .set({ lease_owner: null, lease_expires_at: null })
      .where('id', '=', runId)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /**
   * Runs `work` in a transaction that first checks this worker still holds
   * the run (and renews the lease): every state change of a claimed run goes
   * through here.
   */
  async fenced<T>(runId: string, owner: string, leaseMs: number, work: (trx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      const now = this.now();
      const held = await trx
        .updateTable('saga_runs')
        .set({ lease_expires_at: iso(now + leaseMs), updated_at: iso(now) })
        .where('id', '=', runId)
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      if (Number(held.numUpdatedRows) === 0) throw new LeaseLost(`run ${runId} is held by another worker`);
      return work(trx);
    });
  }

  /** Asks a run to stop (picked up by its worker, or the next one to claim it). */
  async requestCancel(runId: string): Promise<void> {
    await this.db
      .updateTable('saga_runs')
      .set({ cancel_requested: 1, wake_at: iso(this.now()), updated_at: iso(this.now()) })
      .where('id', '=', runId)
      .where('status', 'in', ACTIVE_STATUSES as RunRow['status'][])
      .execute();
  }

  /** True when someone asked this run to stop. */
  async cancelRequested(runId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('saga_runs')
      .select('cancel_requested')
      .where('id', '=', runId)
      .executeTakeFirst();
    return Boolean(row?.cancel_requested);
  }

  /* ---------------------------------------------------------------- schedules */

  async setNextFire(workflowId: string, nextFireAt: string | null, expected: string | null): Promise<void> {
    let query = this.db
      .updateTable('saga_workflows')
      .set({ next_fire_at: nextFireAt })
      .where('id', '=', workflowId);
    // Only move it forward from what this replica read: another may have moved it already.
    query =
      expected === null
        ? query.where('next_fire_at', 'is', null)
        : query.where('next_fire_at', '=', expected);
    await query.execute();
  }

  firesOf(workflowId: string): Promise<{ due_at: string; run_id: string | null }[]> {
    return this.db
      .selectFrom('saga_fires')
      .select(['due_at', 'run_id'])
      .where('workflow_id', '=', workflowId)
      .orderBy('due_at')
      .execute();
  }

  /* ---------------------------------------------------------------- files */

  async insertFile(row: FileRow): Promise<void> {
    await this.db.insertInto('saga_files').values(row).execute();
  }

  getFile(id: string): Promise<FileRow | undefined> {
    return this.db.selectFrom('saga_files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listFiles(
    ownerId: string | undefined,
    limit: number,
    skip: number,
  ): Promise<Omit<FileRow, 'content'>[]> {
    let query = this.db
      .selectFrom('saga_files')
      .select([
        'id',
        'owner_id',
        'user_id',
        'name',
        'mime_type',
        'extension',
        'size_bytes',
        'sha256',
        'created_at',
      ]);
    if (ownerId) query = query.where('owner_id', '=', ownerId);
    return query.orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(skip).execute();
  }

  async deleteFile(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('saga_files').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /* ---------------------------------------------------------------- GDPR */

  async userData(userId: string) {
    const workflows = await this.db
      .selectFrom('saga_workflows')
      .selectAll()
      .where('user_id', '=', userId)
      .execute();
    const runs = await this.db.selectFrom('saga_runs').selectAll().where('user_id', '=', userId).execute();
    const steps = await this.getStepsOf(runs.map((r) => r.id));
    const files = await this.db
      .selectFrom('saga_files')
      .select(['id', 'name', 'mime_type', 'extension', 'size_bytes', 'sha256', 'created_at'])
      .where('user_id', '=', userId)
      .execute();
    return { workflows, runs, steps, files };
  }

  /** Removes a user's workflows, finished runs and files. Runs still active are cancelled first by the caller. */
  async eraseUser(userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const runIds = (
        await trx.selectFrom('saga_runs').select('id').where('user_id', '=', userId).execute()
      ).map((r) => r.id);
      const workflowIds = (
        await trx.selectFrom('saga_workflows').select('id').where('user_id', '=', userId).execute()
      ).map((w) => w.id);
      for (let i = 0; i < runIds.length; i += 500) {
        await trx
          .deleteFrom('saga_steps')
          .where('run_id', 'in', runIds.slice(i, i + 500))
          .execute();
      }
      await trx.deleteFrom('saga_runs').where('user_id', '=', userId).execute();
      for (let i = 0; i < workflowIds.length; i += 500) {
        await trx
          .deleteFrom('saga_fires')
          .where('workflow_id', 'in', workflowIds.slice(i, i + 500))
          .execute();
      }
      await trx.deleteFrom('saga_workflows').where('user_id', '=', userId).execute();
      await trx.deleteFrom('saga_files').where('user_id', '=', userId).execute();
    });
  }

  /** Runs of a user that are still active (to cancel before erasure). */
  async activeRunsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('saga_runs')
      .select('id')
      .where('user_id', '=', userId)
      .where('status', 'in', ACTIVE_STATUSES as RunRow['status'][])
      .execute();
    return rows.map((r) => r.id);
  }

  /** Whole-database time on PostgreSQL is not used: every timestamp comes from the workers' clocks. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}
