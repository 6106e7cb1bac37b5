/**
 * The saga module's HTTP API under /api, with the original automation and
 * saga services' paths where they had them: /workflows…, /runs…, /sagas…,
 * /files…, and a per-workflow webhook URL.
 */
import { z } from 'zod';
import { type ApiRoutes, problems, reply } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { FileStore } from './files.js';
import { fileView, runView, type SagaService, sagaView } from './service.js';
import { RUN_STATUSES, stepSchema, triggerSchema, workflowInputSchema } from './types.js';

const TAG = 'saga';
const scopes = ['workflows'] as const;
const id = z.object({ id: z.string().min(1).max(100) });
const paging = {
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};
const runStatus = z.enum(RUN_STATUSES).optional();
const input = z.record(z.string(), z.unknown());
const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('Starting again with the same key returns the first run instead of a new one.');

const workflowPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    steps: z.array(stepSchema).min(1).max(200).optional(),
    compensate: z.boolean().optional(),
    timeout_seconds: z.number().int().min(1).optional(),
    output: z.unknown().optional(),
    triggers: z.array(triggerSchema).optional(),
    status: z.enum(['active', 'paused', 'inactive']).optional(),
    is_enabled: z.boolean().optional().describe('The original’s flag: false pauses, true activates.'),
  })
  .strict();

/** The original's body had config.steps and cron_expression; both are accepted. */
const workflowBody = z.preprocess((raw) => {
  if (!raw || typeof raw !== 'object') return raw;
  const body = { ...(raw as Record<string, unknown>) };
  const config = body.config as { steps?: unknown } | undefined;
  if (config && body.steps === undefined) body.steps = config.steps;
  delete body.config;
  if (typeof body.cron_expression === 'string') {
    const triggers = Array.isArray(body.triggers) ? [...body.triggers] : [];
    triggers.push({
      type: 'cron',
      cron: body.cron_expression,
      ...(body.timezone ? { timezone: body.timezone } : {}),
    });
    body.triggers = triggers;
  }
  delete body.cron_expression;
  delete body.timezone;
  if (Array.isArray(body.triggers)) {
    body.triggers = body.triggers.map((t: { type?: string }) =>
      t?.type === 'scheduled'
        ? { ...t, type: 'cron' }
        : t?.type === 'file_upload'
          ? { ...t, type: 'file_uploaded' }
          : t,
    );
  }
  if (typeof body.is_enabled === 'boolean' && body.status === undefined)
    body.status = body.is_enabled ? 'active' : 'paused';
  delete body.is_enabled;
  return body;
}, workflowInputSchema);

const sagaBody = z.object({
  saga_type: z.string().min(1).max(100),
  input_data: input.default({}),
  correlation_id: z.string().max(200).optional(),
  idempotency_key: idempotencyKey,
  tenant_id: z.string().max(200).optional().describe('Accepted for the original’s clients; not used.'),
});

export function registerRoutes(api: ApiRoutes, service: SagaService, files: FileStore): void {
  /* ---------------- workflows ---------------- */
  api.route({
    method: 'post',
    path: '/workflows/validate',
    summary: 'Check workflow steps and a cron expression (the next five fire times)',
    tag: TAG,
    scopes,
    body: z.object({
      steps: z.unknown().optional(),
      cron_expression: z.string().max(200).optional(),
      timezone: z.string().max(100).optional(),
    }),
    handler: ({ body }) => service.validate(body),
  });
  api.route({
    method: 'get',
    path: '/workflows/validate-cron',
    summary: 'Check a cron expression (the original’s path)',
    tag: TAG,
    scopes,
    query: z.object({
      cron_expression: z.string().min(1).max(200),
      timezone: z.string().max(100).optional(),
    }),
    handler: ({ query }) => service.validate(query),
  });
  api.route({
    method: 'post',
    path: '/workflows/hooks/:secret',
    summary: 'Run the workflow this webhook URL belongs to (the JSON body is its input)',
    tag: TAG,
    auth: 'none',
    params: z.object({ secret: z.string().min(16).max(200) }),
    body: input.optional(),
    successStatus: 202,
    errors: [404, 409],
    handler: async ({ params, body }) => {
      const { run } = await service.webhook(params.secret, body ?? {});
      return reply(202, { run: runView(run) });
    },
  });
  api.route({
    method: 'post',
    path: '/workflows',
    summary: 'Create a workflow (steps, triggers: manual, cron with time zone, webhook, file_uploaded)',
    tag: TAG,
    scopes,
    body: workflowBody,
    successStatus: 201,
    handler: async ({ principal, body }) => {
      const workflow = await service.createWorkflow(principal, body);
      return reply(201, { message: 'Workflow created successfully', workflow });
    },
  });
  api.route({
    method: 'get',
    path: '/workflows',
    summary: 'List workflows',
    tag: TAG,
    scopes,
    query: z.object({ ...paging, status: z.enum(['active', 'paused', 'inactive']).optional() }),
    handler: ({ principal, query }) => service.listWorkflows(principal, query),
  });
  api.route({
    method: 'get',
    path: '/workflows/:id',
    summary: 'A workflow',
    tag: TAG,
    scopes,
    params: id,
    errors: [404],
    handler: ({ principal, params }) => service.getWorkflow(principal, params.id),
  });
  api.route({
    method: 'put',
    path: '/workflows/:id',
    summary: 'Change a workflow (runs already started keep their steps)',
    tag: TAG,
    scopes,
    params: id,
    body: workflowPatch,
    errors: [404],
    handler: async ({ principal, params, body }) => {
      const { is_enabled, ...rest } = body;
      const patch = {
        ...rest,
        ...(is_enabled !== undefined && !rest.status ? { status: is_enabled ? 'active' : 'paused' } : {}),
      };
      return service.updateWorkflow(principal, params.id, patch as never);
    },
  });
  api.route({
    method: 'delete',
    path: '/workflows/:id',
    summary: 'Delete a workflow (its runs are kept)',
    tag: TAG,
    scopes,
    params: id,
    successStatus: 204,
    errors: [404],
    handler: async ({ principal, params }) => {
      await service.deleteWorkflow(principal, params.id);
      return reply(204);
    },
  });
  api.route({
    method: 'post',
    path: '/workflows/:id/trigger',
    summary: 'Start a run of the workflow',
    tag: TAG,
    scopes,
    params: id,
    body: z
      .object({ input: input.optional(), trigger_data: input.optional(), idempotency_key: idempotencyKey })
      .default({}),
    successStatus: 202,
    errors: [404, 409],
    handler: async ({ principal, params, body, req }) => {
      const row = await service.getWorkflowRow(principal, params.id);
      const key = body.idempotency_key ?? headerKey(req.headers['idempotency-key']);
      const { run, created } = await service.trigger(
        principal,
        row,
        body.input ?? body.trigger_data ?? {},
        'manual',
        key,
      );
      const view = runView(run);
      return reply(created ? 202 : 200, {
        message: created ? 'Workflow triggered successfully' : 'A run with this idempotency key exists',
        run: view,
        execution: view,
      });
    },
  });
  for (const path of ['/workflows/:id/runs', '/workflows/:id/executions']) {
    api.route({
      method: 'get',
      path,
      summary: path.endsWith('runs') ? 'Runs of a workflow' : 'Runs of a workflow (the original’s path)',
      tag: TAG,
      scopes,
      params: id,
      query: z.object({ ...paging, status: runStatus }),
      errors: [404],
      handler: async ({ principal, params, query }) => {
        const result = await service.runsOfWorkflow(principal, params.id, query);
        return { ...result, executions: result.runs };
      },
    });
  }

  /* ---------------- runs ---------------- */
  api.route({
    method: 'get',
    path: '/runs',
    summary: 'Runs (workflows and sagas)',
    tag: TAG,
    scopes,
    query: z.object({ ...paging, status: runStatus }),
    handler: async ({ principal, query }) => {
      const { rows, total } = await service.listRuns(principal, query);
      return { runs: rows.map((r) => runView(r)), total, skip: query.skip, limit: query.limit };
    },
  });
  api.route({
    method: 'get',
    path: '/runs/:id',
    summary: 'A run: status, and each step with timings, result and compensation',
    tag: TAG,
    scopes,
    params: id,
    errors: [404],
    handler: ({ principal, params }) => service.getRun(principal, params.id),
  });
  api.route({
    method: 'post',
    path: '/runs/:id/cancel',
    summary: 'Cancel a run: it stops and undoes what it did (status cancelled)',
    tag: TAG,
    scopes,
    params: id,
    successStatus: 202,
    errors: [404, 409],
    handler: async ({ principal, params }) =>
      reply(202, { run: await service.cancelRun(principal, params.id) }),
  });
  api.route({
    method: 'post',
    path: '/runs/:id/retry',
    summary: 'Start a new run with the steps and input of a run that did not complete',
    tag: TAG,
    scopes,
    params: id,
    successStatus: 202,
    errors: [404, 409],
    handler: async ({ principal, params }) =>
      reply(202, { run: runView(await service.retryRun(principal, params.id)) }),
  });

  /* ---------------- sagas ---------------- */
  for (const path of ['/sagas/types', '/sagas/types/available']) {
    api.route({
      method: 'get',
      path,
      summary: 'Built-in saga types with their input schemas',
      tag: TAG,
      scopes,
      handler: () => ({ types: service.sagaTypes() }),
    });
  }
  for (const path of ['/sagas', '/sagas/start']) {
    api.route({
      method: 'post',
      path,
      summary: 'Start a saga of a built-in type',
      tag: TAG,
      scopes,
      body: sagaBody,
      successStatus: 202,
      errors: [400],
      handler: async ({ principal, body, req }) => {
        const key = body.idempotency_key ?? headerKey(req.headers['idempotency-key']);
        const { run, created } = await service.startSaga(principal, { ...body, idempotency_key: key });
        return reply(created ? 202 : 200, {
          saga_id: run.id,
          status: run.status,
          message: created ? 'Saga started' : 'A saga with this idempotency key exists',
        });
      },
    });
  }
  api.route({
    method: 'get',
    path: '/sagas',
    summary: 'Sagas',
    tag: TAG,
    scopes,
    query: z.object({ ...paging, status: runStatus, saga_type: z.string().max(100).optional() }),
    handler: async ({ principal, query }) => {
      const { rows, total } = await service.listRuns(principal, {
        skip: query.skip,
        limit: query.limit,
        status: query.status,
        sagaOnly: true,
        sagaType: query.saga_type,
      });
      return { sagas: rows.map((r) => sagaView(r)), total, skip: query.skip, limit: query.limit };
    },
  });
  api.route({
    method: 'get',
    path: '/sagas/:id',
    summary: 'A saga with its steps',
    tag: TAG,
    scopes,
    params: id,
    errors: [404],
    handler: async ({ principal, params }) => {
      const run = await sagaRow(service, principal, params.id);
      return sagaView(run, await service.repo.getSteps(run.id));
    },
  });
  api.route({
    method: 'get',
    path: '/sagas/:id/steps',
    summary: 'A saga’s steps',
    tag: TAG,
    scopes,
    params: id,
    errors: [404],
    handler: async ({ principal, params }) => {
      const run = await sagaRow(service, principal, params.id);
      const view = sagaView(run, await service.repo.getSteps(run.id));
      return { saga_id: run.id, steps: view.steps };
    },
  });
  api.route({
    method: 'post',
    path: '/sagas/:id/cancel',
    summary: 'Cancel a saga: it compensates what it did',
    tag: TAG,
    scopes,
    params: id,
    successStatus: 202,
    errors: [400, 404],
    handler: async ({ principal, params }) => {
      const run = await sagaRow(service, principal, params.id);
      if (run.status !== 'pending' && run.status !== 'running') {
        // The original answered 400 unless pending or running.
        throw problems.badRequest(
          `Saga ${run.id} is ${run.status}; only pending or running sagas can be cancelled.`,
        );
      }
      const view = await service.cancelRun(principal, run.id);
      return reply(202, { saga_id: run.id, status: 'cancelling', run: view });
    },
  });

  /* ---------------- files ---------------- */
  for (const path of ['/files', '/files/upload']) {
    api.route({
      method: 'post',
      path,
      summary: 'Upload a file (multipart field "file"; size and type limits; sha256)',
      tag: TAG,
      scopes,
      rawBody: true,
      successStatus: 201,
      errors: [413, 415],
      handler: async ({ principal, req }) => {
        const file = await files.upload(principal, req);
        const started = await service.fileUploaded(principal, file);
        return reply(201, { file: fileView(file), triggered_runs: started });
      },
    });
  }
  api.route({
    method: 'get',
    path: '/files',
    summary: 'Uploaded files',
    tag: TAG,
    scopes,
    query: z.object(paging),
    handler: async ({ principal, query }) => ({
      files: (await files.list(principal, query.limit, query.skip)).map(fileView),
      skip: query.skip,
      limit: query.limit,
    }),
  });
  api.route({
    method: 'get',
    path: '/files/:id',
    summary: 'An uploaded file’s details',
    tag: TAG,
    scopes,
    params: id,
    errors: [404],
    handler: async ({ principal, params }) => fileView(await service.getFile(principal, params.id)),
  });
  api.route({
    method: 'delete',
    path: '/files/:id',
    summary: 'Delete an uploaded file',
    tag: TAG,
    scopes,
    params: id,
    successStatus: 204,
    errors: [404],
    handler: async ({ principal, params }) => {
      await service.getFile(principal, params.id);
      await service.repo.deleteFile(params.id);
      return reply(204);
    },
  });
}

async function sagaRow(service: SagaService, principal: Principal, id: string) {
  const run = await service.getRunRow(principal, id);
  if (!run.saga_type) throw problems.notFound(`Saga ${id} not found`);
  return run;
}

function headerKey(value: string | string[] | undefined): string | undefined {
  const key = Array.isArray(value) ? value[0] : value;
  return key?.trim() ? key.trim().slice(0, 200) : undefined;
}
