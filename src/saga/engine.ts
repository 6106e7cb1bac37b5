/**
 * The engine that runs workflows and sagas durably, on the module's own
 * tables (SQLite in one process, PostgreSQL across replicas).
 *
 * - A run is claimed with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED) and
 *   every state change is fenced by it, so two replicas never execute the
 *   same run at once; a dead replica's runs are claimed again once its lease
 *   expires (leaseMs + pollMs).
 * - Each step's input, attempts, outcome and result are stored before the
 *   next step starts. Airtable writes are journaled chunk by chunk before
 *   they are sent (airtable-ops.ts), so a crash or a lost answer is checked
 *   against Airtable, never blindly re-sent.
 * - A step that fails for good (after its retries with backoff) makes the
 *   run compensate: completed steps, and the part a failed step wrote, are
 *   undone in reverse order. Compensations are idempotent and retried; what
 *   cannot be undone leaves the run `needs_attention` with the list of it.
 * - Delays and backoffs are durable: the run sleeps in the store (wake_at),
 *   not in a process.
 *
 * Guarantee: steps run at least once (a step interrupted by a crash runs
 * again), the recorded outcome exactly once, and Airtable writes through the
 * journal are never duplicated.
 */
import { randomUUID } from 'node:crypto';
import type { AirtableClient } from '../airtable/index.js';
import type { TableSchema } from '../airtable/types.js';
import { canUseBase, type Principal } from '../app/principal.js';
import type { ToolRuntime } from '../app/runtime.js';
import type { UsageSink } from '../app/usage.js';
import type { Logger } from '../logger.js';
import {
  type OpsContext,
  planWrite,
  runWrite,
  type SchemaSource,
  type UndoJournal,
  undoWrite,
  WriteError,
  type WriteInput,
  type WriteJournal,
  type WriteOp,
} from './airtable-ops.js';
import { HttpStepError, sendHttp } from './http-step.js';
import type { SagaOptions } from './options.js';
import { LeaseLost, type NewRun, type SagaRepository, type Tx } from './repository.js';
import { render, TemplateError } from './template.js';
import {
  type CompensationStatus,
  type ImportOptions,
  ownerOf,
  type Plan,
  parseJson,
  planSchema,
  type RetryPolicy,
  type RunRow,
  type RunStatus,
  type StepDef,
  type StepRow,
  TERMINAL_STATUSES,
} from './types.js';

const DEFAULT_RETRY: RetryPolicy = { max_attempts: 3, backoff_ms: 1000, max_backoff_ms: 60_000 };
/** Attempts of one compensation before the run needs a person. */
const COMPENSATION_ATTEMPTS = 5;

export interface EngineDeps {
  repo: SagaRepository;
  tools: ToolRuntime;
  airtable: {
    client: AirtableClient;
    schemas: { tables(baseId: string, signal?: AbortSignal, fresh?: boolean): Promise<TableSchema[]> };
    defaultBase?: string;
  };
  logger: Logger;
  options: SagaOptions;
  usage?: UsageSink;
  /** This process's id in leases; default a random one. */
  workerId?: string;
  /** The run's stored principal as it is now (null: its account or key no longer works); default unchanged. */
  currentPrincipal?: (stored: Principal) => Promise<Principal | null>;
  now?: () => number;
  /** Runs an import_file step (import-step.ts); absent: import_file steps fail with a clear error. */
  importer?: Importer;
}

export type Importer = (
  step: ImportOptions,
  ctx: StepContext,
) => Promise<{ output: unknown; journal?: WriteJournal; failed?: string }>;

/** What a step's code is given. */
export interface StepContext {
  run: RunRow;
  principal: Principal;
  signal: AbortSignal;
  ops(): OpsContext;
  saveJournal(journal: WriteJournal): Promise<void>;
  /** The journal a previous attempt of this step left (resume). */
  journal: WriteJournal | undefined;
  /** Records earlier steps created under a name ({"$ref": name}). */
  refs: Record<string, string>;
}

export interface StartRun {
  plan: Plan;
  input: Record<string, unknown>;
  principal: Principal;
  name: string;
  workflowId?: string;
  sagaType?: string;
  trigger?: string;
  idempotencyKey?: string;
  correlationId?: string;
  /** A cron due time this run is for (fires once across replicas). */
  fire?: { workflowId: string; dueAt: string };
}

/** A step failure: `retryable` when another attempt may succeed. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** What a failed compensation left, for a person to fix. */
export interface AttentionItem {
  step: string;
  index: number;
  error: string;
  /** What is still to undo (records, values). */
  left: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Automatic compensation: these tools' calls become journaled writes (read before write, lost answers checked). */
const WRITE_TOOLS: Record<string, WriteOp> = {
  create_record: 'create',
  batch_create_records: 'create',
  update_record: 'update',
  batch_update_records: 'update',
  delete_record: 'delete',
  delete_records: 'delete',
};

export class SagaEngine {
  readonly workerId: string;
  readonly #deps: EngineDeps;
  readonly #now: () => number;
  readonly #active = new Map<string, AbortController>();
  /** The step attempt in progress per run: cancelling a run aborts it (compensation keeps the run's own signal). */
  readonly #attempts = new Map<string, AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #ticking: Promise<void> | undefined;
  #wakeup: (() => void) | undefined;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.workerId = deps.workerId ?? `w_${randomUUID().slice(0, 12)}`;
  }

  get repo(): SagaRepository {
    return this.#deps.repo;
  }

  /* ------------------------------------------------------------ starting */

  /** Stores a new run (pending); an idempotency key already used returns that run. Undefined: a cron time already fired. */
  async start(spec: StartRun): Promise<{ run: RunRow; created: boolean } | undefined> {
    const plan = planSchema.parse(spec.plan);
    const now = this.#now();
    const timeout = plan.timeout_seconds ?? this.#deps.options.runTimeoutSeconds;
    const row: NewRun = {
      id: `run_${randomUUID().replace(/-/g, '')}`,
      workflow_id: spec.workflowId ?? null,
      name: spec.name,
      saga_type: spec.sagaType ?? null,
      status: 'pending',
      trigger: spec.trigger ?? 'manual',
      owner_id: ownerOf(spec.principal),
      user_id: spec.principal.userId ?? null,
      principal: JSON.stringify(spec.principal),
      idempotency_key: spec.idempotencyKey ? `${ownerOf(spec.principal)}:${spec.idempotencyKey}` : null,
      correlation_id: spec.correlationId ?? null,
      input: JSON.stringify(spec.input ?? {}),
      plan: JSON.stringify(plan),
      deadline_at: iso(now + timeout * 1000),
      created_at: iso(now),
      updated_at: iso(now),
    };
    const result = await this.#deps.repo.insertRun(row, spec.fire);
    if (result?.created) this.poke();
    return result;
  }

  /** Asks a run to stop; it compensates what it did and ends `cancelled`. False when it already ended. */
  async cancel(runId: string): Promise<boolean> {
    const run = await this.#deps.repo.getRun(runId);
    if (!run || TERMINAL_STATUSES.includes(run.status)) return false;
    await this.#deps.repo.requestCancel(runId);
    this.#attempts.get(runId)?.abort(new StepFailure('the run was cancelled', false));
    this.poke();
    return true;
  }

  /* ------------------------------------------------------------ the worker */

  /** Polls for due runs until stop(). */
  startWorker(): void {
    if (this.#timer || this.#stopping) return;
    const loop = async () => {
      if (this.#stopping) return;
      try {
        await this.tick();
      } catch (error) {
        this.#deps.logger.error({ err: error }, 'saga worker tick failed');
      }
      if (this.#stopping) return;
      await new Promise<void>((resolve) => {
        this.#wakeup = resolve;
        this.#timer = setTimeout(resolve, this.#deps.options.pollMs);
      });
      this.#wakeup = undefined;
      void loop();
    };
    this.#timer = setTimeout(() => void loop(), 0);
  }

  /** Wakes the worker now (a run was started or cancelled here). */
  poke(): void {
    if (this.#wakeup) {
      clearTimeout(this.#timer);
      this.#wakeup();
    }
  }

  /** Stops claiming; runs in progress are interrupted and left for the next claim (their lease is released). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#wakeup?.();
    for (const controller of this.#active.values()) controller.abort(new LeaseLost('the worker is stopping'));
    await this.#ticking?.catch(() => {});
  }

  /** Claims due runs and drives them as far as they go now. */
  async tick(): Promise<void> {
    if (this.#ticking) return this.#ticking;
    this.#ticking = (async () => {
      const free = this.#deps.options.concurrency - this.#active.size;
      if (free <= 0 || this.#stopping) return;
      const claimed = await this.#deps.repo.claimRuns(this.workerId, free, this.#deps.options.leaseMs);
      await Promise.all(claimed.map((run) => this.#drive(run)));
    })().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  /** Runs ticks until the run has ended (tests and synchronous callers). */
  async runUntilDone(runId: string, timeoutMs = 60_000): Promise<RunRow> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.#deps.repo.getRun(runId);
      if (!run) throw new Error(`no run ${runId}`);
      if (TERMINAL_STATUSES.includes(run.status)) return run;
      if (Date.now() > until) throw new Error(`run ${runId} is still ${run.status} after ${timeoutMs} ms`);
      await this.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /* ------------------------------------------------------------ one run */

  async #drive(claimed: RunRow): Promise<void> {
    const controller = new AbortController();
    this.#active.set(claimed.id, controller);
    const { leaseMs } = this.#deps.options;
    const heartbeat = setInterval(
      () => {
        void this.#deps.repo.renewLease(claimed.id, this.workerId, leaseMs).then(
          (held) => {
            if (!held) controller.abort(new LeaseLost(`run ${claimed.id} was taken over`));
          },
          () => {},
        );
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    try {
      await this.#advance(claimed.id, controller.signal);
    } catch (error) {
      if (error instanceof LeaseLost || controller.signal.reason instanceof LeaseLost) {
        this.#deps.logger.warn({ run: claimed.id }, 'saga run lease lost; another worker continues it');
      } else {
        this.#deps.logger.error({ err: error, run: claimed.id }, 'saga run failed unexpectedly');
        // Let it be claimed again after a pause rather than spinning.
        await this.#deps.repo.db
          .updateTable('saga_runs')
          .set({ wake_at: iso(this.#now() + 5000) })
          .where('id', '=', claimed.id)
          .where('lease_owner', '=', this.workerId)
          .execute()
          .catch(() => {});
      }
    } finally {
      clearInterval(heartbeat);
      this.#active.delete(claimed.id);
      await this.#deps.repo.releaseLease(claimed.id, this.workerId).catch(() => {});
    }
  }

  #fenced<T>(runId: string, work: (trx: Tx) => Promise<T>): Promise<T> {
    return this.#deps.repo.fenced(runId, this.workerId, this.#deps.options.leaseMs, work);
  }

  async #setRun(runId: string, patch: Partial<RunRow>): Promise<void> {
    await this.#fenced(runId, (trx) =>
      trx.updateTable('saga_runs').set(patch).where('id', '=', runId).execute(),
    );
  }

  async #setStep(
    runId: string,
    idx: number,
    patch: Partial<StepRow>,
    runPatch?: Partial<RunRow>,
  ): Promise<void> {
    await this.#fenced(runId, async (trx) => {
      await trx
        .updateTable('saga_steps')
        .set(patch)
        .where('run_id', '=', runId)
        .where('idx', '=', idx)
        .execute();
      if (runPatch) await trx.updateTable('saga_runs').set(runPatch).where('id', '=', runId).execute();
    });
  }

  /** Drives one claimed run until it ends, sleeps (delay, backoff) or loses its lease. */
  async #advance(runId: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted && signal.reason instanceof LeaseLost) throw signal.reason;
      const run = await this.#deps.repo.getRun(runId);
      if (!run || TERMINAL_STATUSES.includes(run.status)) return;
      const plan = parseJson<Plan>(run.plan)!;
      const now = this.#now();
      if (run.status === 'pending' || run.status === 'running') {
        if (run.cancel_requested) {
          await this.#beginCompensation(run, 'The run was cancelled.', plan);
          continue;
        }
        if (run.deadline_at && Date.parse(run.deadline_at) < now) {
          await this.#beginCompensation(run, `The run passed its deadline (${run.deadline_at}).`, plan);
          continue;
        }
        if (run.status === 'pending') {
          await this.#setRun(runId, { status: 'running', started_at: iso(now), updated_at: iso(now) });
          continue;
        }
        if (run.current_step >= plan.steps.length) {
          await this.#complete(run, plan);
          return;
        }
        const next = await this.#runStep(run, plan, signal);
        if (next === 'sleep') return;
        continue;
      }
      if (run.status === 'compensating') {
        await this.#compensate(run, plan, signal);
        return;
      }
      return;
    }
  }

  async #complete(run: RunRow, plan: Plan): Promise<void> {
    const steps = await this.#deps.repo.getSteps(run.id);
    const scope = this.#scope(run, steps);
    let output: unknown;
    try {
      output =
        plan.output !== undefined
          ? render(plan.output, scope)
          : parseJson(steps.filter((s) => s.status === 'completed').at(-1)?.result ?? null);
    } catch (error) {
      output = { error: (error as Error).message };
    }
    const now = iso(this.#now());
    await this.#setRun(run.id, {
      status: 'completed',
      output: JSON.stringify(output ?? null),
      finished_at: now,
      updated_at: now,
      wake_at: null,
    });
  }

  /** The template scope: input, run, and every completed step's output by name. */
  #scope(run: RunRow, steps: readonly StepRow[]): Record<string, unknown> {
    const byName: Record<string, unknown> = {};
    const refs: Record<string, string> = {};
    for (const step of steps) {
      if (step.status !== 'completed') continue;
      const output = parseJson<Record<string, unknown>>(step.result);
      byName[step.name] = { output, status: step.status };
      const stepRefs = (output as { refs?: Record<string, string> } | undefined)?.refs;
      if (stepRefs && typeof stepRefs === 'object') Object.assign(refs, stepRefs);
    }
    return {
      input: parseJson(run.input) ?? {},
      run: { id: run.id, name: run.name, workflow_id: run.workflow_id, trigger: run.trigger },
      steps: byName,
      refs,
    };
  }

  /** Runs (or resumes) the run's current step. 'sleep': the run waits (delay, backoff) and the lease is given back. */
  async #runStep(run: RunRow, plan: Plan, signal: AbortSignal): Promise<'next' | 'sleep'> {
    const idx = run.current_step;
    const def = plan.steps[idx]!;
    const steps = await this.#deps.repo.getSteps(run.id);
    let row = steps.find((s) => s.idx === idx);
    const now = this.#now();
    const scope = this.#scope(run, steps);
    if (!row) {
      let input: unknown;
      try {
        input = renderStep(def, scope);
      } catch (error) {
        input = undefined;
        await this.#insertStep(run.id, idx, def, null);
        return this.#failStep(run, plan, idx, def, (error as Error).message, 0);
      }
      row = await this.#insertStep(run.id, idx, def, JSON.stringify(input));
    }
    if (row.status === 'failed' && !def.continue_on_error) {
      // Failed for good before a crash, compensation not begun yet: begin it now.
      await this.#beginCompensation(run, `Step "${def.name}" failed: ${row.error ?? 'unknown error'}`, plan);
      return 'next';
    }
    if (row.status === 'completed' || row.status === 'skipped' || row.status === 'failed') {
      // Recorded already (a crash between the step and the run's pointer): move on.
      await this.#setRun(run.id, { current_step: idx + 1, wake_at: null });
      return 'next';
    }
    const input = parseJson<Record<string, unknown>>(row.input) ?? {};
    if (def.type === 'delay') return this.#delay(run, idx, input, row);
    if (def.type === 'condition') {
      const held = evaluate(input.condition as never);
      const result = { passed: held };
      if (held || def.on_false === 'continue') {
        await this.#finishStep(run.id, idx, result);
        return 'next';
      }
      if (def.on_false === 'fail') {
        return this.#failStep(run, plan, idx, def, 'The condition did not hold.', row.attempts);
      }
      await this.#finishStep(run.id, idx, result);
      await this.#complete({ ...run, current_step: plan.steps.length }, plan);
      return 'sleep';
    }
    const attempts = row.attempts + 1;
    await this.#setStep(run.id, idx, {
      attempts,
      status: 'running',
      started_at: row.started_at ?? iso(now),
    });
    const retry = def.retry ?? DEFAULT_RETRY;
    const timeoutMs = (def.timeout_seconds ?? this.#deps.options.stepTimeoutSeconds) * 1000;
    const attempt = new AbortController();
    this.#attempts.set(run.id, attempt);
    const stepSignal = AbortSignal.any([signal, attempt.signal, AbortSignal.timeout(timeoutMs)]);
    const started = performance.now();
    let requests = 0;
    let principal = JSON.parse(run.principal) as Principal;
    try {
      principal = await this.#currentPrincipal(principal);
      const output = await this.#execute(def, input, {
        run,
        principal,
        signal: stepSignal,
        journal: parseJson<WriteJournal>(row.journal),
        refs: scope.refs as Record<string, string>,
        saveJournal: (journal) => this.#setStep(run.id, idx, { journal: JSON.stringify(journal) }),
        ops: () => this.#ops(run, principal, idx, stepSignal, (n) => (requests += n)),
      });
      this.#record(run, def, principal, 'ok', started, requests);
      await this.#finishStep(run.id, idx, output);
      return 'next';
    } catch (thrown) {
      if (signal.aborted && signal.reason instanceof LeaseLost) throw signal.reason;
      if (thrown instanceof LeaseLost) throw thrown;
      const cancelled = await this.#deps.repo.cancelRequested(run.id);
      const error = stepError(thrown, stepSignal, timeoutMs);
      this.#record(run, def, principal, 'error', started, requests);
      if (cancelled) {
        await this.#setStep(run.id, idx, {
          status: 'failed',
          error: 'cancelled',
          finished_at: iso(this.#now()),
        });
        return 'next';
      }
      if (error.retryable && attempts < retry.max_attempts) {
        const backoff = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** (attempts - 1));
        const jittered = Math.round(backoff * (0.8 + Math.random() * 0.4));
        await this.#setStep(
          run.id,
          idx,
          { status: 'waiting', error: error.message },
          { wake_at: iso(this.#now() + jittered) },
        );
        return 'sleep';
      }
      return this.#failStep(run, plan, idx, def, error.message, attempts);
    } finally {
      this.#attempts.delete(run.id);
    }
  }

  #record(
    run: RunRow,
    def: StepDef,
    principal: Principal,
    outcome: 'ok' | 'error',
    started: number,
    requests: number,
  ) {
    // Tool calls are recorded by the runtime; this is the step itself (its time, its requests).
    this.#deps.usage?.record({
      kind: 'workflow_step',
      name: `${run.saga_type ?? run.name}/${def.name}`,
      outcome,
      durationMs: performance.now() - started,
      principalKind: principal.kind,
      principalId: principal.id,
      userId: principal.userId ?? null,
      sessionId: run.id,
      source: 'workflow',
      airtableRequests: requests,
      detail: { type: def.type },
    });
  }

  async #insertStep(runId: string, idx: number, def: StepDef, input: string | null): Promise<StepRow> {
    const row: StepRow = {
      run_id: runId,
      idx,
      name: def.name,
      type: def.type,
      status: 'running',
      attempts: 0,
      input,
      outcome: null,
      result: null,
      error: null,
      journal: null,
      compensation_status: 'none',
      compensation_result: null,
      compensation_error: null,
      compensation_attempts: 0,
      started_at: iso(this.#now()),
      finished_at: null,
      compensated_at: null,
    };
    await this.#fenced(runId, async (trx) => {
      await trx.insertInto('saga_steps').values(row).execute();
    });
    return row;
  }

  async #finishStep(runId: string, idx: number, output: unknown): Promise<void> {
    const now = iso(this.#now());
    await this.#setStep(
      runId,
      idx,
      {
        status: 'completed',
        outcome: 'ok',
        result: JSON.stringify(output ?? null),
        error: null,
        finished_at: now,
      },
      { current_step: idx + 1, wake_at: null, updated_at: now },
    );
  }

  async #failStep(
    run: RunRow,
    plan: Plan,
    idx: number,
    def: StepDef,
    message: string,
    attempts: number,
  ): Promise<'next' | 'sleep'> {
    const now = iso(this.#now());
    if (def.continue_on_error) {
      await this.#setStep(
        run.id,
        idx,
        { status: 'failed', outcome: 'error', error: message, finished_at: now, attempts },
        { current_step: idx + 1, wake_at: null },
      );
      return 'next';
    }
    await this.#setStep(run.id, idx, {
      status: 'failed',
      outcome: 'error',
      error: message,
      finished_at: now,
    });
    await this.#beginCompensation(run, `Step "${def.name}" failed: ${message}`, plan);
    return 'next';
  }

  async #beginCompensation(run: RunRow, error: string, plan: Plan): Promise<void> {
    const now = iso(this.#now());
    if (!plan.compensate && !run.cancel_requested) {
      await this.#setRun(run.id, {
        status: 'failed',
        error,
        finished_at: now,
        updated_at: now,
        wake_at: null,
      });
      return;
    }
    await this.#setRun(run.id, { status: 'compensating', error, updated_at: now, wake_at: null });
  }

  async #delay(
    run: RunRow,
    idx: number,
    input: Record<string, unknown>,
    row: StepRow,
  ): Promise<'next' | 'sleep'> {
    const recorded = parseJson<{ until: string }>(row.journal);
    let until: number;
    if (recorded) until = Date.parse(recorded.until);
    else {
      until =
        typeof input.until === 'string'
          ? Date.parse(input.until)
          : this.#now() + Number(input.seconds ?? 0) * 1000;
      if (!Number.isFinite(until)) {
        const plan = parseJson<Plan>(run.plan)!;
        return this.#failStep(
          run,
          plan,
          idx,
          plan.steps[idx]!,
          `"${String(input.until)}" is not a date-time`,
          1,
        );
      }
      await this.#setStep(run.id, idx, { status: 'waiting', journal: JSON.stringify({ until: iso(until) }) });
    }
    if (until <= this.#now()) {
      await this.#finishStep(run.id, idx, { waited_until: iso(until) });
      return 'next';
    }
    // Wake at the deadline if it comes first (the run then compensates).
    const deadline = run.deadline_at ? Date.parse(run.deadline_at) + 1 : Number.POSITIVE_INFINITY;
    await this.#setRun(run.id, { wake_at: iso(Math.min(until, deadline)) });
    return 'sleep';
  }

  #ops(
    run: RunRow,
    principal: Principal,
    idx: number,
    signal: AbortSignal,
    count: (n: number) => void,
  ): OpsContext {
    return {
      tools: this.#deps.tools,
      principal,
      runId: run.id,
      signal,
      schemas: this.schemaSource(),
      client: this.#deps.airtable.client,
      save: (journal) => this.#setStep(run.id, idx, { journal: JSON.stringify(journal) }),
      countRequests: count,
      now: this.#now,
    };
  }

  schemaSource(): SchemaSource {
    return tableLookup(this.#deps.airtable.schemas);
  }

  /* ------------------------------------------------------------ step types */

  async #execute(def: StepDef, input: Record<string, unknown>, ctx: StepContext): Promise<unknown> {
    switch (def.type) {
      case 'log': {
        const level = (input.level as 'info' | 'warn' | 'error') ?? 'info';
        this.#deps.logger[level]({ run: ctx.run.id, step: def.name }, String(input.message ?? ''));
        return { message: input.message };
      }
      case 'airtable_write':
        return this.#write(input.write as WriteSpecInput, ctx);
      case 'tool': {
        const op = WRITE_TOOLS[def.tool];
        if (op && def.compensation === undefined) {
          return this.#write(toolToWrite(def.tool, op, (input.args ?? {}) as Record<string, unknown>), ctx);
        }
        if ((def.tool === 'update_field' || def.tool === 'update_table') && def.compensation === undefined) {
          await this.#journalSchema(def.tool, (input.args ?? {}) as Record<string, unknown>, ctx);
        }
        return this.#tool(def.tool, (input.args ?? {}) as Record<string, unknown>, ctx);
      }
      case 'http_request': {
        try {
          return await sendHttp(
            {
              method: String(input.method ?? 'GET'),
              url: String(input.url),
              headers: input.headers as Record<string, string> | undefined,
              body: input.body,
              expectStatus: def.expect_status,
              timeoutMs: (def.timeout_seconds ?? this.#deps.options.stepTimeoutSeconds) * 1000,
              signal: ctx.signal,
            },
            {
              allowlist: this.#deps.options.httpAllowlist,
              allowPrivate: this.#deps.options.httpAllowPrivate,
            },
          );
        } catch (error) {
          if (error instanceof HttpStepError) throw new StepFailure(error.message, error.retryable);
          throw error;
        }
      }
      case 'import_file': {
        if (!this.#deps.importer) throw new StepFailure('import_file steps are not available here', false);
        const result = await this.#deps.importer(input as unknown as ImportOptions, ctx);
        if (result.failed) throw new StepFailure(result.failed, false);
        return result.output;
      }
      default:
        throw new StepFailure(`Unknown step type "${(def as { type: string }).type}"`, false);
    }
  }

  /** A journaled write (resumed from the journal a previous attempt left). */
  async #write(spec: WriteSpecInput, ctx: StepContext): Promise<unknown> {
    const ops = ctx.ops();
    let journal = ctx.journal;
    if (!journal) {
      const baseId = spec.base_id ?? this.#deps.airtable.defaultBase;
      if (!baseId) throw new StepFailure('Give base_id: there is no default base.', false);
      const refs = ctx.refs;
      const records: WriteInput[] = spec.records.map((r, index) => ({
        index,
        ...(r.ref ? { ref: r.ref } : {}),
        ...(r.id !== undefined ? { id: resolveRefs(r.id, refs) as string } : {}),
        ...(r.fields ? { fields: resolveRefs(r.fields, refs) as Record<string, unknown> } : {}),
      }));
      journal = await planWrite(ops, {
        op: spec.op,
        baseId,
        table: spec.table,
        records,
        typecast: spec.typecast,
      });
      await ops.save(journal);
    }
    const summary = await runWrite(ops, journal);
    if (summary.failures.length) {
      throw new StepFailure(summary.failures.map((f) => `#${f.index}: ${f.error}`).join('; '), false);
    }
    return {
      ...summary,
      ...(summary.records.length === 1 ? { id: summary.records[0]!.id } : {}),
      ...(journal.op === 'delete' ? { note: 'Undoing a delete re-creates the records with new ids.' } : {}),
    };
  }

  /** Before renaming a table or field: its name and description now (the undo), saved before the change is sent. */
  async #journalSchema(tool: string, args: Record<string, unknown>, ctx: StepContext): Promise<void> {
    if ((ctx.journal as unknown as SchemaJournal | undefined)?.kind === 'schema') return;
    const baseId = (args.base_id as string | undefined) ?? this.#deps.airtable.defaultBase;
    if (!baseId) throw new StepFailure('Give base_id: there is no default base.', false);
    if (!canUseBase(ctx.principal, baseId))
      throw new StepFailure(`This run may not use base ${baseId}.`, false);
    const table = await this.schemaSource().table(baseId, String(args.table_id ?? ''), ctx.signal);
    let restore: Record<string, unknown>;
    if (tool === 'update_table') {
      restore = {
        base_id: baseId,
        table_id: table.id,
        name: table.name,
        description: table.description ?? '',
      };
    } else {
      const key = String(args.field_id ?? '');
      const field = table.fields.find((f) => f.id === key || f.name === key);
      if (!field) throw new StepFailure(`No field "${key}" in table "${table.name}".`, false);
      restore = {
        base_id: baseId,
        table_id: table.id,
        field_id: field.id,
        name: field.name,
        description: field.description ?? '',
      };
    }
    const journal: SchemaJournal = { kind: 'schema', tool, restore };
    await ctx.saveJournal(journal as unknown as WriteJournal);
  }

  async #tool(name: string, args: Record<string, unknown>, ctx: StepContext): Promise<unknown> {
    const baseId = (args.base_id as string | undefined) ?? this.#deps.airtable.defaultBase;
    if (baseId && !canUseBase(ctx.principal, baseId)) {
      throw new StepFailure(`This run may not use base ${baseId}.`, false);
    }
    const result = await this.#deps.tools.call(name, args, {
      principal: ctx.principal,
      source: 'workflow',
      sessionId: ctx.run.id,
      signal: ctx.signal,
    });
    if (result.isError) {
      throw new StepFailure(`${name}: ${result.text}`, result.outcome === 'error');
    }
    return result.structured ?? { text: result.text };
  }

  /**
   * Each step runs with its owner's rights as they are now: narrowed bases
   * apply, and a disabled, erased or revoked owner stops the run (which then
   * undoes what it did, with the rights it was started with).
   */
  async #currentPrincipal(stored: Principal): Promise<Principal> {
    const current = this.#deps.currentPrincipal ? await this.#deps.currentPrincipal(stored) : stored;
    if (!current) {
      throw new StepFailure(
        'the account (or key) that started this run is disabled, deleted or revoked, so the run stops',
        false,
      );
    }
    return current;
  }

  /* ------------------------------------------------------------ compensation */

  async #compensate(run: RunRow, plan: Plan, signal: AbortSignal): Promise<void> {
    const steps = await this.#deps.repo.getSteps(run.id);
    const principal = JSON.parse(run.principal) as Principal;
    const attention: AttentionItem[] = [];
    for (const step of [...steps].sort((a, b) => b.idx - a.idx)) {
      if (signal.aborted && signal.reason instanceof LeaseLost) throw signal.reason;
      if (step.compensation_status === 'done' || step.compensation_status === 'not_needed') continue;
      const def = plan.steps[step.idx]!;
      const needed = needsCompensation(step, def);
      if (!needed) {
        await this.#setStep(run.id, step.idx, { compensation_status: 'not_needed' });
        continue;
      }
      let undo = parseJson<UndoJournal & Record<string, unknown>>(step.compensation_result) ?? {};
      let attempts = step.compensation_attempts;
      let lastError = step.compensation_error ?? '';
      let done = false;
      while (attempts < COMPENSATION_ATTEMPTS) {
        attempts++;
        await this.#setStep(run.id, step.idx, {
          compensation_status: 'pending',
          compensation_attempts: attempts,
        });
        try {
          undo = await this.#undo(run, step, def, principal, undo, signal);
          done = true;
          break;
        } catch (error) {
          if (error instanceof LeaseLost || (signal.aborted && signal.reason instanceof LeaseLost))
            throw error;
          lastError = error instanceof Error ? error.message : String(error);
          const permanent = error instanceof WriteError && !error.retryable;
          await this.#setStep(run.id, step.idx, {
            compensation_error: lastError,
            compensation_result: JSON.stringify(undo),
          });
          if (permanent) break;
          await sleep(Math.min(5000, 200 * 2 ** (attempts - 1)), signal);
        }
      }
      const now = iso(this.#now());
      if (done) {
        await this.#setStep(run.id, step.idx, {
          compensation_status: 'done',
          compensation_result: JSON.stringify(undo),
          compensation_error: null,
          compensated_at: now,
        });
      } else {
        await this.#setStep(run.id, step.idx, {
          compensation_status: 'failed',
          compensation_error: lastError,
          compensation_result: JSON.stringify(undo),
        });
        attention.push({ step: step.name, index: step.idx, error: lastError, left: leftToUndo(step, undo) });
      }
    }
    // Steps whose compensation failed in an earlier pass (before a crash) still need a person.
    const after = await this.#deps.repo.getSteps(run.id);
    for (const step of after) {
      if (step.compensation_status === 'failed' && !attention.some((a) => a.index === step.idx)) {
        attention.push({
          step: step.name,
          index: step.idx,
          error: step.compensation_error ?? 'compensation failed',
          left: leftToUndo(step, parseJson(step.compensation_result) ?? {}),
        });
      }
    }
    const now = iso(this.#now());
    const status: RunStatus = attention.length
      ? 'needs_attention'
      : run.cancel_requested
        ? 'cancelled'
        : 'compensated';
    await this.#setRun(run.id, {
      status,
      attention: attention.length ? JSON.stringify(attention) : null,
      finished_at: now,
      updated_at: now,
      wake_at: null,
    });
  }

  async #undo(
    run: RunRow,
    step: StepRow,
    def: StepDef,
    principal: Principal,
    undo: UndoJournal & Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<UndoJournal & Record<string, unknown>> {
    const journal = parseJson<WriteJournal>(step.journal);
    const ops: OpsContext = {
      ...this.#ops(run, principal, step.idx, signal, () => {}),
      // The write journal is left as it is; the undo keeps its own progress.
      save: (j) => this.#setStep(run.id, step.idx, { journal: JSON.stringify(j) }),
    };
    const schema = journal as unknown as SchemaJournal | undefined;
    if (schema?.kind === 'schema') {
      await this.#tool(schema.tool, schema.restore, {
        run,
        principal,
        signal,
        journal: undefined,
        refs: {},
        saveJournal: async () => {},
        ops: () => ops,
      }).catch((error: unknown) => {
        throw new WriteError((error as Error).message, !(error instanceof StepFailure) || error.retryable);
      });
      return { ...undo, restored: [String(schema.restore.field_id ?? schema.restore.table_id)] };
    }
    if (journal?.kind === 'airtable') {
      return (await undoWrite(ops, journal, undo, (u) =>
        this.#setStep(run.id, step.idx, { compensation_result: JSON.stringify(u) }),
      )) as UndoJournal & Record<string, unknown>;
    }
    const compensation = 'compensation' in def ? def.compensation : undefined;
    if (!compensation || compensation === 'none') return { ...undo, note: 'nothing to undo' };
    const scope = {
      ...this.#scope(run, await this.#deps.repo.getSteps(run.id)),
      result: parseJson(step.result),
    };
    const rendered = render(compensation, scope, true) as Record<string, unknown>;
    if (compensation.type === 'tool') {
      const output = await this.#tool(
        String(rendered.tool),
        (rendered.args ?? {}) as Record<string, unknown>,
        {
          run,
          principal,
          signal,
          journal: undefined,
          refs: {},
          saveJournal: async () => {},
          ops: () => ops,
        },
      ).catch((error: unknown) => {
        throw new WriteError((error as Error).message, !(error instanceof StepFailure) || error.retryable);
      });
      return { ...undo, output } as never;
    }
    const output = await sendHttp(
      {
        method: String(rendered.method ?? 'POST'),
        url: String(rendered.url),
        headers: rendered.headers as Record<string, string> | undefined,
        body: rendered.body,
        timeoutMs: this.#deps.options.stepTimeoutSeconds * 1000,
        signal,
      },
      { allowlist: this.#deps.options.httpAllowlist, allowPrivate: this.#deps.options.httpAllowPrivate },
    ).catch((error: unknown) => {
      throw new WriteError((error as Error).message, error instanceof HttpStepError ? error.retryable : true);
    });
    return { ...undo, output: { status: output.status } } as never;
  }
}

/* ------------------------------------------------------------------ helpers */

/** A table's schema by id or name (fresh when not found in the cache: it may have just been created). */
export function tableLookup(schemas: EngineDeps['airtable']['schemas']): SchemaSource {
  return {
    table: async (baseId, table, signal) => {
      const find = (tables: TableSchema[]) =>
        tables.find((t) => t.id === table || t.name === table) ??
        tables.find((t) => t.name.toLowerCase() === table.toLowerCase());
      const found =
        find(await schemas.tables(baseId, signal)) ?? find(await schemas.tables(baseId, signal, true));
      if (!found) throw new WriteError(`No table "${table}" in base ${baseId}.`, false);
      return found;
    },
  };
}

interface WriteSpecInput {
  op: WriteOp;
  base_id?: string;
  table: string;
  typecast?: boolean;
  records: { ref?: string; id?: unknown; fields?: Record<string, unknown> }[];
}

/** A step's arguments with placeholders filled in (stored as the step's input). */
function renderStep(def: StepDef, scope: Record<string, unknown>): Record<string, unknown> {
  switch (def.type) {
    case 'tool':
      return { tool: def.tool, args: render(def.args, scope) };
    case 'condition':
      return { condition: render(def.condition, scope), on_false: def.on_false };
    case 'delay':
      return { seconds: def.seconds, ...(def.until ? { until: render(def.until, scope) } : {}) };
    case 'log':
      return { message: render(def.message, scope), level: def.level };
    case 'http_request':
      return {
        method: def.method,
        url: render(def.url, scope),
        headers: render(def.headers, scope),
        body: render(def.body, scope),
      };
    case 'import_file': {
      const { name: _n, type: _t, retry: _r, timeout_seconds: _s, continue_on_error: _c, ...rest } = def;
      return render(rest, scope) as Record<string, unknown>;
    }
    case 'airtable_write':
      // {"$ref": name} values are resolved when the write is planned; {{…}} placeholders now.
      return { write: render(def.write, scope) };
  }
}

/** Replaces {"$ref": name} by the id of the record an earlier change created. */
export function resolveRefs(value: unknown, refs: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, refs));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$ref') {
      const name = String((value as { $ref: unknown }).$ref);
      const id = refs[name];
      if (!id)
        throw new StepFailure(`{"$ref": "${name}"} names no record created earlier in this run`, false);
      return id;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveRefs(v, refs);
    return out;
  }
  return value;
}

/** A write tool's arguments as a journaled write. */
export function toolToWrite(tool: string, op: WriteOp, args: Record<string, unknown>): WriteSpecInput {
  const common = {
    op,
    ...(typeof args.base_id === 'string' ? { base_id: args.base_id } : {}),
    table: String(args.table_id ?? args.table ?? ''),
    ...(typeof args.typecast === 'boolean' ? { typecast: args.typecast } : {}),
  };
  if (!common.table) throw new StepFailure(`${tool}: give table_id`, false);
  switch (tool) {
    case 'create_record':
      return { ...common, records: [{ fields: (args.fields ?? {}) as Record<string, unknown> }] };
    case 'batch_create_records':
      return {
        ...common,
        records: ((args.records ?? []) as Record<string, unknown>[]).map((r) => ({
          fields: (r.fields && typeof r.fields === 'object' ? r.fields : r) as Record<string, unknown>,
        })),
      };
    case 'update_record':
      return {
        ...common,
        records: [{ id: args.record_id, fields: (args.fields ?? {}) as Record<string, unknown> }],
      };
    case 'batch_update_records':
      return {
        ...common,
        records: ((args.records ?? []) as { id: string; fields: Record<string, unknown> }[]).map((r) => ({
          id: r.id,
          fields: r.fields,
        })),
      };
    case 'delete_record':
      return { ...common, records: [{ id: args.record_id }] };
    default:
      return { ...common, records: ((args.record_ids ?? []) as string[]).map((id) => ({ id })) };
  }
}

/** A table or field rename: what restores it. */
interface SchemaJournal {
  kind: 'schema';
  tool: string;
  restore: Record<string, unknown>;
}

function needsCompensation(step: StepRow, def: StepDef): boolean {
  const journal = parseJson<WriteJournal>(step.journal);
  // Recorded before the change was sent: restoring the old name and description is harmless if it never arrived.
  if ((journal as unknown as SchemaJournal | undefined)?.kind === 'schema') return true;
  if (journal?.kind === 'airtable') {
    // Anything sent (or being sent) may have written: undo it, whether the step completed or not.
    return journal.chunks.some((c) => c.status !== 'planned');
  }
  if (step.status !== 'completed') return false;
  const compensation = 'compensation' in def ? def.compensation : undefined;
  return Boolean(compensation && compensation !== 'none');
}

function leftToUndo(step: StepRow, undo: UndoJournal): unknown {
  const journal = parseJson<WriteJournal>(step.journal);
  const schema = journal as unknown as SchemaJournal | undefined;
  if (schema?.kind === 'schema') return { tool: schema.tool, restore: schema.restore };
  if (journal?.kind !== 'airtable')
    return { compensation: 'see the step definition', result: parseJson(step.result) };
  const written = journal.chunks.flatMap((c) => c.written ?? []).map((w) => w.id);
  const handled = new Set([...(undo.deleted ?? []), ...(undo.restored ?? [])]);
  const left = written.filter((id) => !handled.has(id));
  return {
    op: journal.op,
    base_id: journal.base_id,
    table: journal.table_name,
    record_ids: left,
    ...(journal.op === 'update'
      ? { restore: journal.chunks.flatMap((c) => c.previous ?? []).filter((p) => left.includes(p.id)) }
      : {}),
    ...(journal.op === 'delete'
      ? { recreate: journal.chunks.flatMap((c) => c.previous ?? []).filter((p) => left.includes(p.id)) }
      : {}),
  };
}

function stepError(thrown: unknown, signal: AbortSignal, timeoutMs: number): StepFailure {
  if (thrown instanceof StepFailure) return thrown;
  if (thrown instanceof WriteError) return new StepFailure(thrown.message, thrown.retryable);
  if (thrown instanceof TemplateError) return new StepFailure(thrown.message, false);
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof StepFailure) return reason;
    return new StepFailure(`The step took longer than ${timeoutMs / 1000} s.`, true);
  }
  return new StepFailure(thrown instanceof Error ? thrown.message : String(thrown), true);
}

export function evaluate(condition: { left: unknown; op: string; right?: unknown }): boolean {
  const { left, op, right } = condition;
  const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));
  switch (op) {
    case 'equals':
      return JSON.stringify(left) === JSON.stringify(right) || String(left) === String(right);
    case 'not_equals':
      return !(JSON.stringify(left) === JSON.stringify(right) || String(left) === String(right));
    case 'contains':
      return Array.isArray(left)
        ? left.some((v) => String(v) === String(right))
        : String(left).includes(String(right));
    case 'not_contains':
      return !(Array.isArray(left)
        ? left.some((v) => String(v) === String(right))
        : String(left).includes(String(right)));
    case 'greater_than':
      return num(left) > num(right);
    case 'less_than':
      return num(left) < num(right);
    case 'exists':
      return left !== undefined && left !== null;
    case 'not_exists':
      return left === undefined || left === null;
    case 'falsy':
      return !left || (Array.isArray(left) && !left.length);
    default:
      return Boolean(left) && !(Array.isArray(left) && !left.length);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export type { CompensationStatus };
