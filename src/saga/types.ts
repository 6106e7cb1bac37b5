/**
 * Workflow and step definitions (what a person or an assistant writes, in
 * snake_case JSON), run and step statuses, and the stored rows.
 */
import { z } from 'zod';
import type { Principal } from '../app/principal.js';

export const RUN_STATUSES = [
  'pending',
  'running',
  'completed',
  'compensating',
  'compensated',
  'failed',
  'needs_attention',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a worker still has something to do in. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['pending', 'running', 'compensating'];
export const TERMINAL_STATUSES: readonly RunStatus[] = [
  'completed',
  'compensated',
  'failed',
  'needs_attention',
  'cancelled',
];

export type StepStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'skipped';
export type CompensationStatus = 'none' | 'pending' | 'done' | 'failed' | 'not_needed';

const stepName = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/,
    'step names are letters, digits, _ and - (start with a letter or _)',
  );

export const retrySchema = z
  .object({
    max_attempts: z.number().int().min(1).max(20).default(3),
    backoff_ms: z.number().int().min(0).max(3_600_000).default(1000),
    max_backoff_ms: z.number().int().min(0).max(86_400_000).default(60_000),
  })
  .describe('Attempts of one step and the exponential backoff between them.');
export type RetryPolicy = z.output<typeof retrySchema>;

const common = {
  name: stepName,
  retry: retrySchema.optional(),
  timeout_seconds: z.number().int().min(1).max(86_400).optional(),
  continue_on_error: z
    .boolean()
    .optional()
    .describe('A failure of this step is recorded and the run goes on (no compensation).'),
};

/** How a step that did not write to Airtable through a known tool is undone. */
export const compensationSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('tool'),
      tool: z.string().min(1),
      args: z.record(z.string(), z.unknown()).default({}),
    }),
    z.object({
      type: z.literal('http_request'),
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
      url: z.string().min(1),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
    }),
  ])
  .describe('Run to undo this step ({{result…}} is the step’s output); "none" for nothing to undo.');

const toolStep = z.object({
  ...common,
  type: z.literal('tool'),
  tool: z.string().trim().min(1).describe('A tool name, e.g. create_record, batch_update_records.'),
  args: z.record(z.string(), z.unknown()).default({}),
  compensation: z.union([compensationSchema, z.literal('none')]).optional(),
});

export const conditionSchema = z.object({
  left: z.unknown(),
  op: z
    .enum([
      'equals',
      'not_equals',
      'contains',
      'not_contains',
      'greater_than',
      'less_than',
      'exists',
      'not_exists',
      'truthy',
      'falsy',
    ])
    .default('truthy'),
  right: z.unknown().optional(),
});

const conditionStep = z.object({
  ...common,
  type: z.literal('condition'),
  condition: conditionSchema,
  on_false: z
    .enum(['stop', 'fail', 'continue'])
    .default('stop')
    .describe('stop: the run completes, later steps are skipped; fail: the run fails (and compensates).'),
});

const delayStep = z
  .object({
    ...common,
    type: z.literal('delay'),
    seconds: z.number().min(0).max(31_536_000).optional(),
    until: z.string().optional().describe('An ISO date-time (templating allowed).'),
  })
  .refine((s) => s.seconds !== undefined || s.until !== undefined, { message: 'give seconds or until' });

const logStep = z.object({
  ...common,
  type: z.literal('log'),
  message: z.string().max(10_000),
  level: z.enum(['info', 'warn', 'error']).default('info'),
});

const httpStep = z.object({
  ...common,
  type: z.literal('http_request'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  expect_status: z
    .array(z.number().int())
    .optional()
    .describe('Statuses that count as success; default 2xx.'),
  compensation: z.union([compensationSchema, z.literal('none')]).optional(),
});

export const importOptionsSchema = z.object({
  file_id: z.string().min(1),
  base_id: z.string().optional(),
  table: z.string().min(1).describe('Table name or id to create records in.'),
  mapping: z
    .record(z.string(), z.string())
    .optional()
    .describe('Column header → field name; default: headers that match a field name (case-insensitive).'),
  typecast: z
    .boolean()
    .default(false)
    .describe('Let Airtable convert text to field types (and add select options).'),
  rollback_on_error: z
    .boolean()
    .default(false)
    .describe('If any row fails, delete every record the import created (all or nothing).'),
  sheet: z
    .union([z.string(), z.number().int().min(1)])
    .optional()
    .describe('XLSX sheet name or number (default first).'),
  delimiter: z
    .string()
    .min(1)
    .max(1)
    .optional()
    .describe('CSV delimiter (default: detected among , ; tab |).'),
});
export type ImportOptions = z.output<typeof importOptionsSchema>;

const importStep = z.object({ ...common, type: z.literal('import_file'), ...importOptionsSchema.shape });

/** A record reference inside airtable_write: an id, or the record an earlier change created. */
export const refSchema = z.object({ $ref: z.string().min(1) }).strict();

export const writeSchema = z.object({
  op: z.enum(['create', 'update', 'delete']),
  base_id: z.string().optional(),
  table: z.string().min(1),
  typecast: z.boolean().optional(),
  /** create: [{ref?, fields}]; update: [{id, fields}]; delete: [{id}]. Fields may hold {"$ref": name}. */
  records: z
    .array(
      z.object({
        ref: z.string().min(1).optional(),
        id: z.union([z.string(), refSchema]).optional(),
        fields: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1)
    .max(10_000),
});
export type WriteSpec = z.output<typeof writeSchema>;

/** Internal: a journaled Airtable write (apply_changes and the built-in sagas build these). */
const writeStep = z.object({ ...common, type: z.literal('airtable_write'), write: writeSchema });

export const stepSchema = z.discriminatedUnion('type', [
  toolStep,
  conditionStep,
  delayStep,
  logStep,
  httpStep,
  importStep,
  writeStep,
]);
export type StepDef = z.output<typeof stepSchema>;
export type StepType = StepDef['type'];

export const triggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('manual') }),
  z.object({
    type: z.literal('cron'),
    cron: z.string().min(1).describe('5 fields (minute resolution) or 6 (with seconds).'),
    timezone: z.string().optional().describe('IANA time zone, e.g. Europe/Berlin; default UTC.'),
  }),
  z.object({ type: z.literal('webhook') }),
  z.object({
    type: z.literal('file_uploaded'),
    file_extensions: z.array(z.string()).optional(),
  }),
]);
export type TriggerDef = z.output<typeof triggerSchema>;

export const planSchema = z.object({
  steps: z.array(stepSchema).min(1).max(200),
  /** Undo completed steps when a step fails for good (a saga); false: just stop (status failed). */
  compensate: z.boolean().default(true),
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .optional(),
  /** Template for the run's output; default the last step's output. */
  output: z.unknown().optional(),
});
export type Plan = z.output<typeof planSchema>;

export const workflowInputSchema = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  steps: z.array(stepSchema).min(1).max(200),
  compensate: z.boolean().default(true),
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .optional(),
  output: z.unknown().optional(),
  triggers: z.array(triggerSchema).default([{ type: 'manual' }]),
  status: z.enum(['active', 'paused', 'inactive']).default('active'),
});
export type WorkflowInput = z.output<typeof workflowInputSchema>;

/* ---- stored rows ---- */

export interface WorkflowRow {
  id: string;
  owner_id: string;
  user_id: string | null;
  principal: string;
  name: string;
  description: string | null;
  status: string;
  definition: string;
  triggers: string;
  cron_expression: string | null;
  timezone: string | null;
  next_fire_at: string | null;
  webhook_hash: string | null;
  run_count: number;
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RunRow {
  id: string;
  workflow_id: string | null;
  name: string;
  saga_type: string | null;
  status: RunStatus;
  trigger: string;
  owner_id: string;
  user_id: string | null;
  principal: string;
  idempotency_key: string | null;
  correlation_id: string | null;
  input: string;
  plan: string;
  current_step: number;
  output: string | null;
  error: string | null;
  attention: string | null;
  cancel_requested: number;
  wake_at: string | null;
  deadline_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface StepRow {
  run_id: string;
  idx: number;
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  input: string | null;
  outcome: string | null;
  result: string | null;
  error: string | null;
  journal: string | null;
  compensation_status: CompensationStatus;
  compensation_result: string | null;
  compensation_error: string | null;
  compensation_attempts: number;
  started_at: string | null;
  finished_at: string | null;
  compensated_at: string | null;
}

export interface FireRow {
  workflow_id: string;
  due_at: string;
  run_id: string | null;
  fired_at: string;
}

export interface FileRow {
  id: string;
  owner_id: string;
  user_id: string | null;
  name: string;
  mime_type: string;
  extension: string;
  size_bytes: number;
  sha256: string;
  content: Buffer;
  created_at: string;
}

export interface SagaTables {
  saga_workflows: WorkflowRow;
  saga_runs: RunRow;
  saga_steps: StepRow;
  saga_fires: FireRow;
  saga_files: FileRow;
}

/** Whose a thing is: the person behind the principal, else the principal (a server key). */
export function ownerOf(principal: Principal): string {
  return principal.userId ?? principal.id;
}

export function parseJson<T = unknown>(text: string | null | undefined): T | undefined {
  if (text === null || text === undefined) return undefined;
  return JSON.parse(text) as T;
}
