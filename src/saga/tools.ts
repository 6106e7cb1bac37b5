/**
 * MCP tools of the saga module (toolset `automation`, opt-in): apply_changes
 * gives an assistant the transaction Airtable lacks; list_workflows,
 * run_workflow, get_run and import_file reach workflows and imports. They
 * run as the caller's principal, so its bases and scopes apply.
 */
import { z } from 'zod';
import { ANONYMOUS, type Principal } from '../app/principal.js';
import { type DefinedTool, defineTool } from '../tools/define.js';
import { ToolFailure, ToolInputError } from '../tools/errors.js';
import { compactJson } from '../tools/format.js';
import type { FileStore } from './files.js';
import { applyChangesInput, applyChangesPlan } from './sagas.js';
import { runView, type SagaService } from './service.js';
import { parseJson, type RunRow, type StepRow, TERMINAL_STATUSES, type WorkflowRow } from './types.js';

export const AUTOMATION_TOOLSET = { automation: 'Workflows, sagas and all-or-nothing changes (opt-in)' };

const WAIT_MS = 120_000;

function principalOf(ctx: { principal?: Principal }): Principal {
  return ctx.principal ?? ANONYMOUS;
}

/** What each applied change did (for the answer) and what compensation undid. */
function describeRun(steps: readonly StepRow[]) {
  const changes = steps.map((s) => {
    const result = parseJson<{ op?: string; table_name?: string; ids?: string[] }>(s.result);
    const undo = parseJson<{
      deleted?: string[];
      restored?: string[];
      recreated?: { old_id: string; new_id: string }[];
    }>(s.compensation_result);
    return {
      step: s.name,
      status: s.status,
      ...(result?.ids ? { table: result.table_name, ids: result.ids } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(undo && (undo.deleted || undo.restored || undo.recreated)
        ? {
            undone: {
              ...(undo.deleted?.length ? { deleted: undo.deleted } : {}),
              ...(undo.restored?.length ? { restored: undo.restored } : {}),
              ...(undo.recreated?.length ? { recreated: undo.recreated } : {}),
            },
          }
        : {}),
    };
  });
  const refs: Record<string, string> = {};
  for (const s of steps)
    Object.assign(refs, parseJson<{ refs?: Record<string, string> }>(s.result)?.refs ?? {});
  return { changes, refs };
}

export function sagaTools(service: SagaService, files: FileStore): DefinedTool[] {
  const applyChanges = defineTool({
    name: 'apply_changes',
    title: 'Apply changes (all or nothing)',
    description:
      'Apply an ordered list of creates, updates and deletes across the tables of one base as one transaction: ' +
      'either every change is in Airtable, or none is and the answer says what was undone. A create may name its ' +
      'record with "ref"; later changes use {"$ref": "name"} as a record id or inside link fields ' +
      '(e.g. "Project": [{"$ref": "p"}]). Updates restore the previous values and deletes re-create the records ' +
      '(with new ids) when a later change fails.',
    toolset: 'automation',
    kind: 'destructive',
    idempotent: false,
    input: {
      ...applyChangesInput.shape,
      idempotency_key: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .describe('Sending the same key again returns the first outcome instead of applying twice.'),
    },
    output: {
      saga_id: z.string(),
      status: z.string(),
      applied: z.boolean(),
      refs: z.record(z.string(), z.string()).describe('ref name → id of the record created'),
      changes: z.array(z.record(z.string(), z.unknown())),
      error: z.string().optional(),
      needs_attention: z.unknown().optional(),
    },
    async run(args, ctx) {
      const principal = principalOf(ctx);
      const { idempotency_key, ...input } = args;
      for (const [i, change] of input.changes.entries()) {
        if (change.op === 'create' && !change.fields)
          throw new ToolInputError(`changes[${i}]: a create needs fields`);
        if (change.op !== 'create' && change.id === undefined) {
          throw new ToolInputError(
            `changes[${i}]: an ${change.op} needs the record's id (or {"$ref": name})`,
          );
        }
        if (change.op === 'update' && !change.fields)
          throw new ToolInputError(`changes[${i}]: an update needs fields`);
      }
      const { run: started } = await service.engine
        .start({
          plan: applyChangesPlan(input),
          input: input as Record<string, unknown>,
          principal,
          name: 'apply_changes',
          sagaType: 'apply_changes',
          trigger: 'tool',
          idempotencyKey: idempotency_key,
        })
        .then((r) => r!);
      const run = await service.waitForRun(started.id, WAIT_MS, ctx.signal);
      const steps = await service.repo.getSteps(run.id);
      const { changes, refs } = describeRun(steps);
      const structured = {
        saga_id: run.id,
        status: run.status,
        applied: run.status === 'completed',
        refs,
        changes,
        ...(run.error ? { error: run.error } : {}),
        ...(run.attention ? { needs_attention: parseJson(run.attention) } : {}),
      };
      if (run.status === 'completed') {
        const count = changes.reduce((n, c) => n + (c.ids?.length ?? 0), 0);
        return { structured, text: `Applied all changes (${count} records). refs=${compactJson(refs)}` };
      }
      if (!TERMINAL_STATUSES.includes(run.status)) {
        return {
          structured,
          text: `Still ${run.status} after ${WAIT_MS / 1000} s; follow it with get_run run_id=${run.id}.`,
        };
      }
      const what =
        run.status === 'needs_attention'
          ? `Some changes could not be undone; a person must fix: ${compactJson(parseJson(run.attention))}`
          : 'Nothing was applied: every change made before the failure was undone.';
      throw new ToolFailure(`${run.error ?? 'The changes failed.'} ${what}`, { structured });
    },
  });

  const listWorkflows = defineTool({
    name: 'list_workflows',
    title: 'List workflows',
    description: 'List the workflows you may run (id, name, status, triggers, steps count, last run).',
    toolset: 'automation',
    kind: 'read',
    input: { limit: z.number().int().min(1).max(200).default(50) },
    output: { workflows: z.array(z.record(z.string(), z.unknown())), total: z.number().int() },
    async run(args, ctx) {
      const { workflows, total } = await service.listWorkflows(principalOf(ctx), {
        skip: 0,
        limit: args.limit,
      });
      const short = workflows.map((w) => ({
        id: w.id,
        name: w.name,
        status: w.status,
        description: w.description,
        triggers: w.triggers.map((t) => t.type),
        steps: w.steps.length,
        last_run_at: w.last_run_at,
      }));
      return {
        structured: { workflows: short, total },
        text: [`${total} workflow(s)`, ...short.map((w) => compactJson(w))].join('\n'),
      };
    },
  });

  const runWorkflow = defineTool({
    name: 'run_workflow',
    title: 'Run a workflow',
    description:
      'Start a run of a workflow by id with an input object; waits up to wait_seconds for it to finish and returns its status.',
    toolset: 'automation',
    kind: 'destructive',
    idempotent: false,
    input: {
      workflow_id: z.string().min(1),
      input: z.record(z.string(), z.unknown()).default({}),
      wait_seconds: z.number().int().min(0).max(300).default(30),
      idempotency_key: z.string().min(1).max(200).optional(),
    },
    output: { run: z.record(z.string(), z.unknown()) },
    async run(args, ctx) {
      const principal = principalOf(ctx);
      let row: WorkflowRow;
      try {
        row = await service.getWorkflowRow(principal, args.workflow_id);
      } catch {
        throw new ToolInputError(
          `No workflow ${args.workflow_id}; list_workflows shows the ones you may run.`,
        );
      }
      let started: RunRow;
      try {
        started = (await service.trigger(principal, row, args.input, 'tool', args.idempotency_key)).run;
      } catch (error) {
        throw new ToolInputError((error as Error).message);
      }
      const run = args.wait_seconds
        ? await service.waitForRun(started.id, args.wait_seconds * 1000, ctx.signal)
        : started;
      const view = runView(run);
      return {
        structured: { run: view },
        text: `Run ${run.id}: ${run.status}${run.error ? ` (${run.error})` : ''}${
          TERMINAL_STATUSES.includes(run.status) ? '' : `; follow it with get_run run_id=${run.id}`
        }`,
      };
    },
  });

  const getRun = defineTool({
    name: 'get_run',
    title: 'Get a run',
    description: 'A workflow run or saga: status, error, and each step with its result and compensation.',
    toolset: 'automation',
    kind: 'read',
    input: { run_id: z.string().min(1) },
    output: { run: z.record(z.string(), z.unknown()) },
    async run(args, ctx) {
      try {
        const run = await service.getRun(principalOf(ctx), args.run_id);
        return {
          structured: { run },
          text: [
            `Run ${run.id}: ${run.status}${run.error ? ` (${run.error})` : ''}`,
            ...(run.steps ?? []).map(
              (s) =>
                `${s.index} ${s.name} ${s.status}${s.error ? `: ${s.error}` : ''}; compensation ${s.compensation.status}`,
            ),
          ].join('\n'),
        };
      } catch {
        throw new ToolInputError(`No run ${args.run_id}.`);
      }
    },
  });

  const importFile = defineTool({
    name: 'import_file',
    title: 'Import a CSV or XLSX file into a table',
    description:
      'Create one record per row of a CSV/XLSX file: give file_id (an uploaded file) or content (CSV text the ' +
      'client passes). Headers map to fields by name or by mapping; typecast lets Airtable convert values. ' +
      'Per-row failures are reported; rollback_on_error deletes everything the import created if any row fails.',
    toolset: 'automation',
    kind: 'write',
    idempotent: false,
    input: {
      file_id: z.string().min(1).optional(),
      content: z
        .string()
        .min(1)
        .max(5_000_000)
        .optional()
        .describe('CSV text, when there is no uploaded file.'),
      file_name: z.string().max(200).optional().describe('With content: its name (default import.csv).'),
      base_id: z.string().optional(),
      table: z.string().min(1),
      mapping: z.record(z.string(), z.string()).optional(),
      typecast: z.boolean().default(false),
      rollback_on_error: z.boolean().default(false),
    },
    output: { run_id: z.string(), status: z.string(), result: z.unknown() },
    async run(args, ctx) {
      const principal = principalOf(ctx);
      if (!args.file_id && !args.content) throw new ToolInputError('Give file_id or content.');
      let fileId = args.file_id;
      if (!fileId) {
        try {
          fileId = (
            await files.put(principal, args.file_name ?? 'import.csv', Buffer.from(args.content!, 'utf8'))
          ).id;
        } catch (error) {
          throw new ToolInputError((error as Error).message);
        }
      }
      const step = {
        name: 'import',
        type: 'import_file',
        file_id: fileId,
        table: args.table,
        ...(args.base_id ? { base_id: args.base_id } : {}),
        ...(args.mapping ? { mapping: args.mapping } : {}),
        typecast: args.typecast,
        rollback_on_error: args.rollback_on_error,
        retry: { max_attempts: 3, backoff_ms: 500, max_backoff_ms: 5000 },
      };
      const { run: started } = (await service.engine.start({
        plan: { steps: [step as never], compensate: true },
        input: {},
        principal,
        name: 'import_file',
        trigger: 'tool',
      }))!;
      const run = await service.waitForRun(started.id, WAIT_MS, ctx.signal);
      const [only] = await service.repo.getSteps(run.id);
      const result = parseJson(only?.result ?? null) ?? null;
      const structured = { run_id: run.id, status: run.status, result };
      if (run.status === 'completed') {
        const r = result as { created: number; failed: number; rows: number };
        return {
          structured,
          text: `Imported ${r.created} of ${r.rows} rows (${r.failed} failed). ${compactJson(result)}`,
        };
      }
      throw new ToolFailure(`${run.error ?? `Import ${run.status}`}`, { structured });
    },
  });

  return [applyChanges, listWorkflows, runWorkflow, getRun, importFile] as unknown as DefinedTool[];
}
