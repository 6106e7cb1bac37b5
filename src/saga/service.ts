/**
 * What the saga module does behind its routes and tools: workflows (CRUD,
 * triggers, webhooks, cron), runs and sagas (start, status, cancel, retry),
 * uploaded files, and the JSON views the API answers with (snake_case).
 * Everything is scoped to its owner: a person sees their own; admins and
 * server keys see all.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { problems } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { Logger } from '../logger.js';
import type { SagaEngine } from './engine.js';
import type { SagaOptions } from './options.js';
import type { SagaRepository } from './repository.js';
import { SAGA_TYPES, sagaType } from './sagas.js';
import { CronError, latestDue, nextFire, nextFires } from './scheduler.js';
import {
  type FileRow,
  ownerOf,
  type Plan,
  parseJson,
  planSchema,
  type RunRow,
  type StepRow,
  TERMINAL_STATUSES,
  type TriggerDef,
  type WorkflowInput,
  type WorkflowRow,
  workflowInputSchema,
} from './types.js';

export interface ServiceDeps {
  repo: SagaRepository;
  engine: SagaEngine;
  options: SagaOptions;
  logger: Logger;
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Admins, server keys and the unauthenticated loopback mode see everyone's workflows and runs. */
export function seesAll(principal: Principal): boolean {
  return (
    principal.kind === 'server_key' ||
    principal.kind === 'anonymous' ||
    principal.kind === 'system' ||
    principal.role === 'admin'
  );
}

export class SagaService {
  readonly #deps: ServiceDeps;
  readonly #now: () => number;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get engine(): SagaEngine {
    return this.#deps.engine;
  }

  get repo(): SagaRepository {
    return this.#deps.repo;
  }

  #owned<T extends { owner_id: string }>(
    principal: Principal,
    row: T | undefined,
    what: string,
    id: string,
  ): T {
    if (!row || (!seesAll(principal) && row.owner_id !== ownerOf(principal))) {
      throw problems.notFound(`${what} ${id} not found`);
    }
    return row;
  }

  /* ------------------------------------------------------------ workflows */

  async createWorkflow(principal: Principal, input: WorkflowInput): Promise<Record<string, unknown>> {
    const parsed = workflowInputSchema.parse(input);
    const cron = cronOf(parsed.triggers);
    const now = this.#now();
    const secret = parsed.triggers.some((t) => t.type === 'webhook')
      ? randomBytes(24).toString('base64url')
      : undefined;
    const row: WorkflowRow = {
      id: `wf_${randomUUID().replace(/-/g, '')}`,
      owner_id: ownerOf(principal),
      user_id: principal.userId ?? null,
      principal: JSON.stringify(principal),
      name: parsed.name,
      description: parsed.description ?? null,
      status: parsed.status,
      definition: JSON.stringify(planOf(parsed)),
      triggers: JSON.stringify(parsed.triggers),
      cron_expression: cron?.cron ?? null,
      timezone: cron?.timezone ?? null,
      next_fire_at: cron ? this.#firstFire(cron) : null,
      webhook_hash: secret ? hashSecret(secret) : null,
      run_count: 0,
      last_run_at: null,
      created_at: iso(now),
      updated_at: iso(now),
    };
    await this.#deps.repo.insertWorkflow(row);
    return {
      ...workflowView(row),
      ...(secret ? { webhook_secret: secret, webhook_path: webhookPath(secret) } : {}),
    };
  }

  #firstFire(cron: { cron: string; timezone?: string }): string | null {
    try {
      return nextFire(cron.cron, cron.timezone, new Date(this.#now()))?.toISOString() ?? null;
    } catch (error) {
      if (error instanceof CronError) throw problems.badRequest(`Invalid cron trigger: ${error.message}`);
      throw error;
    }
  }

  async listWorkflows(principal: Principal, q: { skip: number; limit: number; status?: string }) {
    const { rows, total } = await this.#deps.repo.listWorkflows({
      ownerId: seesAll(principal) ? undefined : ownerOf(principal),
      status: q.status,
      skip: q.skip,
      limit: q.limit,
    });
    return { workflows: rows.map(workflowView), total, skip: q.skip, limit: q.limit };
  }

  async getWorkflowRow(principal: Principal, id: string): Promise<WorkflowRow> {
    return this.#owned(principal, await this.#deps.repo.getWorkflow(id), 'Workflow', id);
  }

  async getWorkflow(principal: Principal, id: string) {
    return workflowView(await this.getWorkflowRow(principal, id));
  }

  async updateWorkflow(principal: Principal, id: string, patch: Partial<WorkflowInput>) {
    const row = await this.getWorkflowRow(principal, id);
    const current = workflowInputOf(row);
    const merged = workflowInputSchema.parse({ ...current, ...stripUndefined(patch) });
    const cron = cronOf(merged.triggers);
    const cronChanged =
      cron?.cron !== (row.cron_expression ?? undefined) || cron?.timezone !== (row.timezone ?? undefined);
    const hadWebhook = row.webhook_hash !== null;
    const wantsWebhook = merged.triggers.some((t) => t.type === 'webhook');
    const secret = wantsWebhook && !hadWebhook ? randomBytes(24).toString('base64url') : undefined;
    const next: Partial<WorkflowRow> = {
      name: merged.name,
      description: merged.description ?? null,
      status: merged.status,
      definition: JSON.stringify(planOf(merged)),
      triggers: JSON.stringify(merged.triggers),
      cron_expression: cron?.cron ?? null,
      timezone: cron?.timezone ?? null,
      ...(cronChanged || (merged.status === 'active' && row.status !== 'active')
        ? { next_fire_at: cron ? this.#firstFire(cron) : null }
        : {}),
      webhook_hash: wantsWebhook ? (secret ? hashSecret(secret) : row.webhook_hash) : null,
      updated_at: iso(this.#now()),
    };
    await this.#deps.repo.updateWorkflow(id, next);
    const updated = { ...row, ...next } as WorkflowRow;
    return {
      ...workflowView(updated),
      ...(secret ? { webhook_secret: secret, webhook_path: webhookPath(secret) } : {}),
    };
  }

  async deleteWorkflow(principal: Principal, id: string): Promise<void> {
    await this.getWorkflowRow(principal, id);
    await this.#deps.repo.deleteWorkflow(id);
  }

  /** Starts a run of a workflow (manual, webhook or file trigger) as the principal given. */
  async trigger(
    principal: Principal,
    row: WorkflowRow,
    input: Record<string, unknown>,
    trigger: string,
    idempotencyKey?: string,
  ): Promise<{ run: RunRow; created: boolean }> {
    if (row.status !== 'active') {
      throw problems.conflict(`Workflow ${row.id} is ${row.status}; set status "active" to run it.`);
    }
    const result = await this.#deps.engine.start({
      plan: parseJson<Plan>(row.definition)!,
      input,
      principal,
      name: row.name,
      workflowId: row.id,
      trigger,
      idempotencyKey,
    });
    return result!;
  }

  /** A webhook call: the workflow whose secret it is runs as the principal that created it. */
  async webhook(secret: string, input: Record<string, unknown>) {
    const row = await this.#deps.repo.getWorkflowByWebhook(hashSecret(secret));
    if (!row) throw problems.notFound('No workflow has this webhook URL.');
    if (!(parseJson<TriggerDef[]>(row.triggers) ?? []).some((t) => t.type === 'webhook')) {
      throw problems.notFound('No workflow has this webhook URL.');
    }
    const principal = JSON.parse(row.principal) as Principal;
    return this.trigger(principal, row, input, 'webhook');
  }

  async runsOfWorkflow(
    principal: Principal,
    id: string,
    q: { skip: number; limit: number; status?: string },
  ) {
    await this.getWorkflowRow(principal, id);
    const { rows, total } = await this.#deps.repo.listRuns({ workflowId: id, ...q });
    return { runs: rows.map((r) => runView(r)), total, skip: q.skip, limit: q.limit };
  }

  /** Checks steps and a cron expression without storing anything; the next five fire times. */
  validate(body: { steps?: unknown; cron_expression?: string; timezone?: string }) {
    const errors: { field: string; message: string }[] = [];
    if (body.steps !== undefined) {
      const parsed = planSchema.safeParse({ steps: body.steps });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          errors.push({ field: issue.path.join('.'), message: issue.message });
        }
      }
    }
    let nextRuns: string[] | undefined;
    if (body.cron_expression !== undefined) {
      try {
        nextRuns = nextFires(body.cron_expression, body.timezone, 5, new Date(this.#now())).map((d) =>
          d.toISOString(),
        );
      } catch (error) {
        errors.push({ field: 'cron_expression', message: (error as Error).message });
      }
    }
    return {
      valid: errors.length === 0,
      is_valid: errors.length === 0,
      errors,
      ...(body.cron_expression !== undefined
        ? { cron_expression: body.cron_expression, next_runs: nextRuns ?? [] }
        : {}),
    };
  }

  /* ------------------------------------------------------------ runs */

  /** Waits for a run to end (or the time to pass); this replica's worker is woken to pick it up at once. */
  async waitForRun(id: string, timeoutMs: number, signal?: AbortSignal): Promise<RunRow> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.#deps.repo.getRun(id);
      if (!run) throw problems.notFound(`Run ${id} not found`);
      if (TERMINAL_STATUSES.includes(run.status) || Date.now() >= until || signal?.aborted) return run;
      this.#deps.engine.poke();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async getRunRow(principal: Principal, id: string): Promise<RunRow> {
    return this.#owned(principal, await this.#deps.repo.getRun(id), 'Run', id);
  }

  async getRun(principal: Principal, id: string) {
    const run = await this.getRunRow(principal, id);
    return runView(run, await this.#deps.repo.getSteps(id));
  }

  async cancelRun(principal: Principal, id: string) {
    const run = await this.getRunRow(principal, id);
    if (TERMINAL_STATUSES.includes(run.status)) {
      throw problems.conflict(
        `Run ${id} is already ${run.status}; only pending or running runs can be cancelled.`,
      );
    }
    if (run.status === 'compensating') {
      throw problems.conflict(`Run ${id} is already compensating; it ends compensated or needs_attention.`);
    }
    await this.#deps.engine.cancel(id);
    return runView((await this.#deps.repo.getRun(id))!);
  }

  /** A new run with the same steps and input as a run that did not complete. */
  async retryRun(principal: Principal, id: string) {
    const run = await this.getRunRow(principal, id);
    if (!['failed', 'compensated', 'cancelled', 'needs_attention'].includes(run.status)) {
      throw problems.conflict(
        `Run ${id} is ${run.status}; only failed, compensated or cancelled runs can be retried.`,
      );
    }
    const result = await this.#deps.engine.start({
      plan: parseJson<Plan>(run.plan)!,
      input: parseJson<Record<string, unknown>>(run.input) ?? {},
      principal,
      name: run.name,
      workflowId: run.workflow_id ?? undefined,
      sagaType: run.saga_type ?? undefined,
      trigger: 'retry',
      correlationId: run.correlation_id ?? undefined,
    });
    return result!.run;
  }

  async listRuns(
    principal: Principal,
    q: { skip: number; limit: number; status?: string; sagaOnly?: boolean; sagaType?: string },
  ) {
    const { rows, total } = await this.#deps.repo.listRuns({
      ownerId: seesAll(principal) ? undefined : ownerOf(principal),
      ...q,
    });
    return { rows, total };
  }

  /* ------------------------------------------------------------ sagas */

  sagaTypes() {
    return SAGA_TYPES.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: jsonSchemaOf(t.input),
    }));
  }

  async startSaga(
    principal: Principal,
    body: { saga_type: string; input_data: unknown; correlation_id?: string; idempotency_key?: string },
  ): Promise<{ run: RunRow; created: boolean }> {
    const type = sagaType(body.saga_type);
    if (!type) {
      throw problems.badRequest(
        `Unknown saga_type "${body.saga_type}"; choose one of ${SAGA_TYPES.map((t) => t.name).join(', ')} (GET /api/sagas/types).`,
      );
    }
    const parsed = type.input.safeParse(body.input_data ?? {});
    if (!parsed.success) {
      throw problems.badRequest(
        `input_data does not fit ${type.name}`,
        parsed.error.issues.map((i) => ({ field: ['input_data', ...i.path].join('.'), message: i.message })),
      );
    }
    const result = await this.#deps.engine.start({
      plan: type.plan(parsed.data as never),
      input: parsed.data as Record<string, unknown>,
      principal,
      name: type.name,
      sagaType: type.name,
      trigger: 'api',
      correlationId: body.correlation_id,
      idempotencyKey: body.idempotency_key,
    });
    return result!;
  }

  /* ------------------------------------------------------------ schedules */

  /** Fires cron workflows that are due (once per due time across replicas). */
  async scheduleTick(): Promise<number> {
    const now = new Date(this.#now());
    let fired = 0;
    for (const row of await this.#deps.repo.dueSchedules(now.toISOString())) {
      if (!row.cron_expression || !row.next_fire_at) continue;
      try {
        const due = latestDue(
          row.cron_expression,
          row.timezone ?? undefined,
          new Date(row.next_fire_at),
          now,
        );
        const fresh = now.getTime() - due.getTime() <= this.#deps.options.catchUpSeconds * 1000;
        if (fresh) {
          const result = await this.#deps.engine.start({
            plan: parseJson<Plan>(row.definition)!,
            input: { scheduled_at: due.toISOString() },
            principal: JSON.parse(row.principal) as Principal,
            name: row.name,
            workflowId: row.id,
            trigger: 'cron',
            fire: { workflowId: row.id, dueAt: due.toISOString() },
          });
          if (result?.created) fired++;
        } else {
          this.#deps.logger.warn(
            { workflow: row.id, due: due.toISOString() },
            'missed cron time is older than SAGA_CATCH_UP_SECONDS; skipped',
          );
        }
        const next = nextFire(row.cron_expression, row.timezone ?? undefined, now);
        await this.#deps.repo.setNextFire(row.id, next?.toISOString() ?? null, row.next_fire_at);
      } catch (error) {
        this.#deps.logger.error({ err: error, workflow: row.id }, 'cron trigger failed');
      }
    }
    return fired;
  }

  /* ------------------------------------------------------------ files */

  async getFile(principal: Principal, id: string): Promise<FileRow> {
    return this.#owned(principal, await this.#deps.repo.getFile(id), 'File', id);
  }

  /** Workflows of the uploader with a file_uploaded trigger matching the file's extension. */
  async fileUploaded(principal: Principal, file: Omit<FileRow, 'content'>): Promise<string[]> {
    const started: string[] = [];
    for (const row of await this.#deps.repo.fileTriggered(ownerOf(principal))) {
      const trigger = (parseJson<TriggerDef[]>(row.triggers) ?? []).find((t) => t.type === 'file_uploaded') as
        | { type: 'file_uploaded'; file_extensions?: string[] }
        | undefined;
      if (!trigger) continue;
      const exts = trigger.file_extensions?.map((e) => e.replace(/^\./, '').toLowerCase());
      if (exts?.length && !exts.includes(file.extension)) continue;
      const { run } = await this.trigger(
        principal,
        row,
        { file: fileView(file), file_id: file.id },
        'file_uploaded',
      );
      started.push(run.id);
    }
    return started;
  }
}

/* ------------------------------------------------------------------ views */

function cronOf(triggers: readonly TriggerDef[]): { cron: string; timezone?: string } | undefined {
  const found = triggers.filter((t) => t.type === 'cron');
  if (found.length > 1) throw problems.badRequest('A workflow has at most one cron trigger.');
  const cron = found[0] as { cron: string; timezone?: string } | undefined;
  return cron ? { cron: cron.cron, ...(cron.timezone ? { timezone: cron.timezone } : {}) } : undefined;
}

function planOf(input: WorkflowInput): Plan {
  return {
    steps: input.steps,
    compensate: input.compensate,
    ...(input.timeout_seconds ? { timeout_seconds: input.timeout_seconds } : {}),
    ...(input.output !== undefined ? { output: input.output } : {}),
  };
}

function workflowInputOf(row: WorkflowRow): WorkflowInput {
  const plan = parseJson<Plan>(row.definition)!;
  return {
    name: row.name,
    ...(row.description ? { description: row.description } : {}),
    steps: plan.steps,
    compensate: plan.compensate,
    ...(plan.timeout_seconds ? { timeout_seconds: plan.timeout_seconds } : {}),
    ...(plan.output !== undefined ? { output: plan.output } : {}),
    triggers: parseJson<TriggerDef[]>(row.triggers) ?? [],
    status: row.status as WorkflowInput['status'],
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function webhookPath(secret: string): string {
  return `/api/workflows/hooks/${secret}`;
}

export function workflowView(row: WorkflowRow) {
  const plan = parseJson<Plan>(row.definition)!;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    is_enabled: row.status === 'active',
    steps: plan.steps,
    compensate: plan.compensate,
    timeout_seconds: plan.timeout_seconds ?? null,
    output: plan.output ?? null,
    triggers: parseJson<TriggerDef[]>(row.triggers) ?? [],
    cron_expression: row.cron_expression,
    timezone: row.timezone,
    next_run_at: row.status === 'active' ? row.next_fire_at : null,
    has_webhook: row.webhook_hash !== null,
    owner_id: row.owner_id,
    run_count: row.run_count,
    last_run_at: row.last_run_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function stepView(step: StepRow) {
  const duration =
    step.started_at && step.finished_at ? Date.parse(step.finished_at) - Date.parse(step.started_at) : null;
  return {
    index: step.idx,
    name: step.name,
    type: step.type,
    status: step.status,
    attempts: step.attempts,
    input: parseJson(step.input) ?? null,
    result: parseJson(step.result) ?? null,
    error: step.error,
    started_at: step.started_at,
    finished_at: step.finished_at,
    duration_ms: duration,
    compensation: {
      status: step.compensation_status,
      attempts: step.compensation_attempts,
      result: parseJson(step.compensation_result) ?? null,
      error: step.compensation_error,
      at: step.compensated_at,
    },
  };
}

export function runView(run: RunRow, steps?: readonly StepRow[]) {
  const key = run.idempotency_key ? run.idempotency_key.slice(run.owner_id.length + 1) : null;
  return {
    id: run.id,
    workflow_id: run.workflow_id,
    saga_type: run.saga_type,
    name: run.name,
    status: run.status,
    trigger: run.trigger,
    input: parseJson(run.input) ?? {},
    output: parseJson(run.output) ?? null,
    error: run.error,
    needs_attention: parseJson(run.attention) ?? null,
    current_step: run.current_step,
    cancel_requested: Boolean(run.cancel_requested),
    idempotency_key: key,
    correlation_id: run.correlation_id,
    owner_id: run.owner_id,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    deadline_at: run.deadline_at,
    wake_at: run.wake_at,
    ...(steps ? { steps: steps.map(stepView) } : {}),
  };
}

/** The original's SagaInstance shape (saga_id, type, …) plus the run's fields. */
export function sagaView(run: RunRow, steps?: readonly StepRow[]) {
  const view = runView(run, steps);
  return { saga_id: run.id, type: run.saga_type, input_data: view.input, output_data: view.output, ...view };
}

export function fileView(file: Omit<FileRow, 'content'>) {
  return {
    id: file.id,
    name: file.name,
    mime_type: file.mime_type,
    extension: file.extension,
    size_bytes: file.size_bytes,
    sha256: file.sha256,
    created_at: file.created_at,
  };
}

function jsonSchemaOf(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}
