/**
 * The core's part of a user's data: their usage records (tool calls, chat
 * turns, workflow steps). Export lists them; erasure anonymises them, so
 * totals in analytics stay right while nothing points at the person.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface CoreGdprHooks {
  export(userId: string): Promise<unknown>;
  erase(userId: string): Promise<void>;
}

/** The id an erased user's records carry instead of theirs. */
export const ERASED_PRINCIPAL = 'erased';

export function coreGdprHooks(db: Kysely<Database>): CoreGdprHooks {
  return {
    async export(userId) {
      const rows = await db
        .selectFrom('usage_records')
        .select(['at', 'kind', 'name', 'tool', 'outcome', 'duration_ms', 'source', 'airtable_requests'])
        .select(['input_tokens', 'output_tokens', 'cost_usd', 'model', 'session_id'])
        .where('user_id', '=', userId)
        .orderBy('at')
        .execute();
      return { usage_records: rows.map((row) => ({ ...row, name: row.name ?? row.tool, tool: undefined })) };
    },
    async erase(userId) {
      await db
        .updateTable('usage_records')
        .set({ user_id: null, principal_id: ERASED_PRINCIPAL, key_id: null, session_id: null, detail: null })
        .where('user_id', '=', userId)
        .execute();
    },
  };
}
