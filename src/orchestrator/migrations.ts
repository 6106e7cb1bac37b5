/**
 * The orchestrator's tables. Timestamps are ISO text, as in the core's
 * store, so both dialects store and compare them alike. Contents are kept
 * raw (JSON of Gemini's Content, every part and thought signature) so a
 * conversation resumes exactly, on any replica.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store/types.js';

export function orchestratorMigrations(dialect: StoreDialect): Record<string, Migration> {
  return { '001_chat': chatSchema(dialect) };
}

function autoId(dialect: StoreDialect) {
  return dialect === 'postgres' ? ('bigserial' as const) : ('integer' as const);
}

function chatSchema(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('chat_sessions')
        .addColumn('id', 'text', (col) => col.primaryKey())
        // Whose it is: the user behind the principal, else the principal (a server key).
        .addColumn('owner_id', 'text', (col) => col.notNull())
        .addColumn('user_id', 'text')
        .addColumn('principal_kind', 'text', (col) => col.notNull())
        .addColumn('title', 'text')
        .addColumn('model', 'text', (col) => col.notNull())
        .addColumn('base_id', 'text')
        .addColumn('status', 'text', (col) => col.notNull())
        // A paused turn (waiting for approvals): its step count, calls and results so far.
        .addColumn('turn_state', 'text')
        // A running turn holds the session until then, so two replicas never run one session at once.
        .addColumn('locked_until', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('chat_sessions_owner_idx')
        .on('chat_sessions')
        .columns(['owner_id', 'updated_at'])
        .execute();
      await db.schema.createIndex('chat_sessions_user_idx').on('chat_sessions').column('user_id').execute();

      const messages = db.schema.createTable('chat_messages');
      await (dialect === 'postgres'
        ? messages.addColumn('id', autoId(dialect), (col) => col.primaryKey())
        : messages.addColumn('id', autoId(dialect), (col) => col.primaryKey().autoIncrement())
      )
        .addColumn('session_id', 'text', (col) =>
          col.notNull().references('chat_sessions.id').onDelete('cascade'),
        )
        .addColumn('turn_id', 'text', (col) => col.notNull())
        .addColumn('role', 'text', (col) => col.notNull())
        // The raw Content as JSON text.
        .addColumn('content', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('chat_messages_session_idx')
        .on('chat_messages')
        .columns(['session_id', 'id'])
        .execute();

      await db.schema
        .createTable('chat_turns')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('owner_id', 'text', (col) => col.notNull())
        .addColumn('user_id', 'text')
        .addColumn('model', 'text', (col) => col.notNull())
        .addColumn('message', 'text', (col) => col.notNull())
        .addColumn('response', 'text')
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('tools_used', 'text', (col) => col.notNull())
        .addColumn('input_tokens', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('output_tokens', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('thinking_tokens', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('cached_tokens', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('tool_use_tokens', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('cost_usd', 'double precision', (col) => col.notNull().defaultTo(0))
        .addColumn('hops', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('trimmed', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('duration_ms', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('started_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('chat_turns_owner_idx')
        .on('chat_turns')
        .columns(['owner_id', 'started_at'])
        .execute();
      await db.schema
        .createIndex('chat_turns_session_idx')
        .on('chat_turns')
        .columns(['session_id', 'started_at'])
        .execute();

      await db.schema
        .createTable('chat_budgets')
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('subject_id', 'text', (col) => col.notNull())
        .addColumn('limit_usd', 'double precision', (col) => col.notNull())
        .addColumn('period', 'text', (col) => col.notNull())
        .addColumn('alert_threshold', 'double precision', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('chat_budgets_pk', ['scope', 'subject_id'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('chat_budgets').execute();
      await db.schema.dropTable('chat_turns').execute();
      await db.schema.dropTable('chat_messages').execute();
      await db.schema.dropTable('chat_sessions').execute();
    },
  };
}
