import type { Kysely, Migration } from 'kysely';

/**
 * Usage records for every module: what kind of event (tool call, chat turn,
 * workflow step, client event), which principal and user, and what it cost
 * (Airtable requests, model tokens, estimated dollars). Old rows keep
 * defaults: kind 'tool', zero cost.
 */
export function usageDetails(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const columns: [string, 'text' | 'integer' | 'double precision', unknown?][] = [
        ['kind', 'text', 'tool'],
        ['name', 'text'],
        ['principal_kind', 'text'],
        ['principal_id', 'text'],
        ['user_id', 'text'],
        ['source', 'text'],
        ['airtable_requests', 'integer', 0],
        ['input_tokens', 'integer', 0],
        ['output_tokens', 'integer', 0],
        ['cost_usd', 'double precision', 0],
        ['model', 'text'],
        ['detail', 'text'],
      ];
      for (const [name, type, fallback] of columns) {
        await db.schema
          .alterTable('usage_records')
          .addColumn(name, type, (col) => (fallback === undefined ? col : col.notNull().defaultTo(fallback)))
          .execute();
      }
      await db.schema
        .createIndex('usage_records_user_at_idx')
        .on('usage_records')
        .columns(['user_id', 'at'])
        .execute();
    },
  };
}
