/**
 * The saga module's config section: declared once, read by the CLI (flags,
 * --help) and the config loader (env, defaults, validation). Light on
 * purpose: the CLI imports it at start.
 */
import { z } from 'zod';
import {
  booleanish,
  defineSection,
  option,
  positiveInt,
  type SectionValue,
  stringList,
} from '../app/options.js';

export const sagaOptions = {
  worker: option({
    schema: booleanish.default(true),
    env: ['SAGA_WORKER'],
    flag: 'saga-worker',
    boolean: true,
    negatable: true,
    help: 'Run workflow and saga steps in this process (default on; --no-saga-worker for API-only replicas)',
    more: true,
  }),
  concurrency: option({
    schema: positiveInt(4),
    env: ['SAGA_CONCURRENCY'],
    help: 'Runs one process executes at the same time, default 4',
    more: true,
  }),
  pollMs: option({
    schema: positiveInt(1000),
    env: ['SAGA_POLL_MS'],
    help: 'How often a worker looks for runs that are due (ms), default 1000',
    more: true,
  }),
  leaseMs: option({
    schema: positiveInt(15_000),
    env: ['SAGA_LEASE_MS'],
    help: "How long a worker's claim on a run lasts without renewal (ms); a dead replica's runs resume after it, default 15000",
    more: true,
  }),
  schedulePollMs: option({
    schema: positiveInt(5000),
    env: ['SAGA_SCHEDULE_POLL_MS'],
    help: 'How often cron schedules are checked (ms), default 5000',
    more: true,
  }),
  catchUpSeconds: option({
    schema: z.coerce.number().int().min(0).default(3600),
    env: ['SAGA_CATCH_UP_SECONDS'],
    help: 'After downtime, the latest missed cron time still fires if it is at most this old (s), default 3600; 0: never',
    more: true,
  }),
  runTimeoutSeconds: option({
    schema: positiveInt(3600),
    env: ['SAGA_RUN_TIMEOUT_SECONDS'],
    help: 'Deadline of a run unless its workflow sets one (s), default 3600',
    more: true,
  }),
  stepTimeoutSeconds: option({
    schema: positiveInt(300),
    env: ['SAGA_STEP_TIMEOUT_SECONDS'],
    help: 'Longest one step attempt may take unless the step sets one (s), default 300',
    more: true,
  }),
  httpAllowlist: option({
    schema: stringList.default([]),
    env: ['WORKFLOW_HTTP_ALLOWLIST'],
    help: 'Hosts http_request steps may call (comma-separated; "*.example.com" for subdomains); empty: none',
    more: true,
  }),
  httpAllowPrivate: option({
    schema: booleanish.default(false),
    env: ['WORKFLOW_HTTP_ALLOW_PRIVATE'],
    help: 'Let http_request steps reach private, loopback and link-local addresses (default off)',
    more: true,
  }),
  maxUploadBytes: option({
    schema: positiveInt(10 * 1024 * 1024),
    env: ['SAGA_MAX_UPLOAD_BYTES'],
    help: 'Largest file POST /api/files accepts (bytes), default 10 MiB',
    more: true,
  }),
  uploadTypes: option({
    schema: stringList.default(['csv', 'xlsx', 'txt', 'json', 'tsv']),
    env: ['SAGA_UPLOAD_TYPES'],
    help: 'File extensions POST /api/files accepts, default csv,xlsx,txt,json,tsv',
    more: true,
  }),
  maxImportRows: option({
    schema: positiveInt(50_000),
    env: ['SAGA_MAX_IMPORT_ROWS'],
    help: 'Most rows one import_file may create, default 50000',
    more: true,
  }),
};

export const sagaSection = defineSection('saga', 'Workflows and sagas', sagaOptions);

export type SagaOptions = SectionValue<typeof sagaOptions>;

/** Defaults, for embedders and tests that build the engine without the config loader. */
export function defaultSagaOptions(overrides: Partial<SagaOptions> = {}): SagaOptions {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(sagaOptions)) values[key] = spec.schema.parse(undefined);
  return { ...(values as SagaOptions), ...overrides };
}
