/**
 * The saga module's tables. Timestamps are ISO text (as in the core's store),
 * so both dialects compare them alike; JSON is stored as text. Every write a
 * run makes to Airtable is journaled in saga_steps before it is sent.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store/types.js';

export function sagaMigrations(dialect: StoreDialect): Record<string, Migration> {
  return { '001_workflows': workflowSchema(dialect) };
}

function workflowSchema(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await createWorkflows(db);
      await createRuns(db);
      await createSteps(db);
      await createFires(db);
      await createFiles(db, dialect);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['saga_files', 'saga_fires', 'saga_steps', 'saga_runs', 'saga_workflows']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

async function createWorkflows(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('saga_workflows')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // Whose it is: the user behind the principal, else the principal itself (a server key).
    .addColumn('owner_id', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text')
    // The creator's principal (kind, id, scopes, bases): scheduled and webhook runs act as it.
    .addColumn('principal', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text')
    .addColumn('status', 'text', (col) => col.notNull())
    // {steps, compensate, timeout_seconds}
    .addColumn('definition', 'text', (col) => col.notNull())
    .addColumn('triggers', 'text', (col) => col.notNull())
    .addColumn('cron_expression', 'text')
    .addColumn('timezone', 'text')
    .addColumn('next_fire_at', 'text')
    // sha256 of the webhook secret; the secret itself is shown once.
    .addColumn('webhook_hash', 'text', (col) => col.unique())
    .addColumn('run_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_run_at', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('saga_workflows_owner_idx')
    .on('saga_workflows')
    .columns(['owner_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('saga_workflows_due_idx')
    .on('saga_workflows')
    .columns(['next_fire_at'])
    .execute();
}

async function createRuns(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('saga_runs')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('workflow_id', 'text')
    .addColumn('name', 'text', (col) => col.notNull())
    // Built-in saga type (airtable_integration, linked_records, apply_changes), else null.
    .addColumn('saga_type', 'text')
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('trigger', 'text', (col) => col.notNull())
    .addColumn('owner_id', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text')
    .addColumn('principal', 'text', (col) => col.notNull())
    // Unique: starting the same run twice returns the first.
    .addColumn('idempotency_key', 'text', (col) => col.unique())
    .addColumn('correlation_id', 'text')
    .addColumn('input', 'text', (col) => col.notNull())
    // The steps as they were when the run started (a later edit of the workflow does not change a run).
    .addColumn('plan', 'text', (col) => col.notNull())
    .addColumn('current_step', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('output', 'text')
    .addColumn('error', 'text')
    // What compensation could not undo, for a person to fix (needs_attention).
    .addColumn('attention', 'text')
    .addColumn('cancel_requested', 'integer', (col) => col.notNull().defaultTo(0))
    // Not before this time (a durable delay, a retry's backoff).
    .addColumn('wake_at', 'text')
    .addColumn('deadline_at', 'text')
    // The worker executing it and until when its claim holds.
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('saga_runs_due_idx').on('saga_runs').columns(['status', 'wake_at']).execute();
  await db.schema
    .createIndex('saga_runs_workflow_idx')
    .on('saga_runs')
    .columns(['workflow_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('saga_runs_owner_idx')
    .on('saga_runs')
    .columns(['owner_id', 'created_at'])
    .execute();
  await db.schema.createIndex('saga_runs_user_idx').on('saga_runs').column('user_id').execute();
}

async function createSteps(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('saga_steps')
    .addColumn('run_id', 'text', (col) => col.notNull())
    .addColumn('idx', 'integer', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    // running | waiting | completed | failed | skipped
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('input', 'text')
    .addColumn('outcome', 'text')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    // What the step wrote or is about to write, recorded before the write is sent: the undo.
    .addColumn('journal', 'text')
    // none | pending | done | failed | not_needed
    .addColumn('compensation_status', 'text', (col) => col.notNull().defaultTo('none'))
    .addColumn('compensation_result', 'text')
    .addColumn('compensation_error', 'text')
    .addColumn('compensation_attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('compensated_at', 'text')
    .addPrimaryKeyConstraint('saga_steps_pk', ['run_id', 'idx'])
    .execute();
}

async function createFires(db: Kysely<unknown>): Promise<void> {
  // One row per (workflow, due time): the primary key is what makes a cron time fire once across replicas.
  await db.schema
    .createTable('saga_fires')
    .addColumn('workflow_id', 'text', (col) => col.notNull())
    .addColumn('due_at', 'text', (col) => col.notNull())
    .addColumn('run_id', 'text')
    .addColumn('fired_at', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('saga_fires_pk', ['workflow_id', 'due_at'])
    .execute();
}

async function createFiles(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  await db.schema
    .createTable('saga_files')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('owner_id', 'text', (col) => col.notNull())
    .addColumn('user_id', 'text')
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('mime_type', 'text', (col) => col.notNull())
    .addColumn('extension', 'text', (col) => col.notNull())
    .addColumn('size_bytes', 'integer', (col) => col.notNull())
    .addColumn('sha256', 'text', (col) => col.notNull())
    // In the database, so every replica can import it.
    .addColumn('content', dialect === 'postgres' ? 'bytea' : 'blob', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('saga_files_owner_idx')
    .on('saga_files')
    .columns(['owner_id', 'created_at'])
    .execute();
  await db.schema.createIndex('saga_files_user_idx').on('saga_files').column('user_id').execute();
}
