/**
 * Usage analytics read from the core's `usage_records`: totals, error
 * rate, latency percentiles, Airtable requests, tokens and cost, per day,
 * tool or user. The same statements run on SQLite and PostgreSQL (text
 * timestamps compare in time order; `substr` exists in both).
 */
import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { PlatformTables } from './tables.js';

export type GroupBy = 'day' | 'tool' | 'user';

export interface UsageFilter {
  from: string;
  to: string;
  /** Only this user's records (members see their own; admins may pick one). */
  userId?: string;
}

export interface UsageTotals {
  /** Tool calls (MCP, /api, the assistant's, workflows'). */
  calls: number;
  errors: number;
  airtable_requests: number;
  chat_turns: number;
  workflow_steps: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface UsageGroup extends UsageTotals {
  key: string;
  day?: string;
}

export interface UsageMetrics extends UsageTotals {
  from: string;
  to: string;
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

type Query = SelectQueryBuilder<PlatformTables, 'usage_records', object>;

const number = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

export class Analytics {
  constructor(private readonly db: Kysely<PlatformTables>) {}

  #toolCalls(filter: UsageFilter): Query {
    return this.#records(filter).where((eb) => eb.or([eb('kind', 'is', null), eb('kind', '=', 'tool')]));
  }

  /** The records a filter covers; client events are kept apart from calls. */
  #records(filter: UsageFilter): Query {
    let query = this.db
      .selectFrom('usage_records')
      .where('at', '>=', filter.from)
      .where('at', '<', filter.to)
      .where((eb) => eb.or([eb('kind', 'is', null), eb('kind', '!=', 'event')]));
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    return query;
  }

  /**
   * Calls, errors and Airtable requests count tool calls only (a workflow
   * step's tool call is its own record, so steps are counted apart, never
   * twice); tokens and cost come from chat turns. Old rows have no kind: tool calls.
   */
  #totals(query: Query) {
    const isTool = sql`(kind is null or kind = 'tool')`;
    return query.select([
      sql<number>`sum(case when ${isTool} then 1 else 0 end)`.as('calls'),
      sql<number>`sum(case when ${isTool} and outcome <> 'ok' then 1 else 0 end)`.as('errors'),
      sql<number>`sum(case when ${isTool} then coalesce(airtable_requests, 0) else 0 end)`.as(
        'airtable_requests',
      ),
      sql<number>`sum(case when kind = 'chat' then 1 else 0 end)`.as('chat_turns'),
      sql<number>`sum(case when kind = 'workflow_step' then 1 else 0 end)`.as('workflow_steps'),
      sql<number>`sum(coalesce(input_tokens, 0))`.as('input_tokens'),
      sql<number>`sum(coalesce(output_tokens, 0))`.as('output_tokens'),
      sql<number>`sum(coalesce(cost_usd, 0))`.as('cost_usd'),
    ]);
  }

  async usage(filter: UsageFilter, groupBy: GroupBy): Promise<UsageGroup[]> {
    const key =
      groupBy === 'day'
        ? sql<string>`substr(at, 1, 10)`
        : groupBy === 'tool'
          ? sql<string>`coalesce(name, tool)`
          : sql<string>`coalesce(user_id, principal_id, 'unknown')`;
    const records = groupBy === 'tool' ? this.#toolCalls(filter) : this.#records(filter);
    const rows = await this.#totals(records)
      .select(key.as('key'))
      .groupBy(key)
      .orderBy(groupBy === 'day' ? key : sql`count(*)`, groupBy === 'day' ? 'asc' : 'desc')
      .orderBy(key)
      .execute();
    const groups = rows.map((row) => ({ key: String(row.key), ...totalsOf(row) }));
    if (groupBy === 'day') return groups.map((group) => ({ ...group, day: group.key }));
    if (groupBy === 'user') return this.#withEmails(groups);
    return groups;
  }

  /** User groups are keyed by email where the user still exists (erased users show as 'erased'). */
  async #withEmails(groups: UsageGroup[]): Promise<UsageGroup[]> {
    const ids = groups.map((group) => group.key).filter((key) => key.startsWith('usr_'));
    if (!ids.length) return groups;
    const users = await this.db
      .selectFrom('platform_users')
      .select(['id', 'email'])
      .where('id', 'in', ids)
      .execute();
    const emails = new Map(users.map((user) => [user.id, user.email]));
    return groups.map((group) => ({ ...group, user_id: group.key, key: emails.get(group.key) ?? group.key }));
  }

  async metrics(filter: UsageFilter): Promise<UsageMetrics> {
    const row = await this.#totals(this.#records(filter)).executeTakeFirst();
    const totals = totalsOf(row ?? {});
    const [p50, p95] = await Promise.all([
      this.#percentile(filter, totals.calls, 0.5),
      this.#percentile(filter, totals.calls, 0.95),
    ]);
    return {
      from: filter.from,
      to: filter.to,
      ...totals,
      error_rate: totals.calls ? totals.errors / totals.calls : 0,
      p50_ms: p50,
      p95_ms: p95,
    };
  }

  /** The nearest-rank percentile of durations, read with one ordered row (no full scan into memory). */
  async #percentile(filter: UsageFilter, count: number, p: number): Promise<number | null> {
    if (count === 0) return null;
    const rank = Math.max(1, Math.ceil(p * count));
    const row = await this.#toolCalls(filter)
      .select('duration_ms')
      .orderBy('duration_ms')
      .limit(1)
      .offset(rank - 1)
      .executeTakeFirst();
    return row ? Number(row.duration_ms) : null;
  }

  /** The latest failed calls (tool, outcome, when), for a front page. */
  async recentErrors(filter: UsageFilter, limit = 10) {
    const rows = await this.#records(filter)
      .select(['at', 'tool', 'name', 'outcome', 'duration_ms', 'kind'])
      .where('outcome', '!=', 'ok')
      .orderBy('at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      at: row.at,
      kind: row.kind ?? 'tool',
      name: row.name ?? row.tool,
      outcome: row.outcome,
      duration_ms: Number(row.duration_ms),
    }));
  }

  /** Deletes records older than the cutoff; the number deleted. */
  async deleteBefore(cutoff: string): Promise<number> {
    const result = await this.db.deleteFrom('usage_records').where('at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function totalsOf(row: Partial<Record<keyof UsageTotals, unknown>>): UsageTotals {
  return {
    calls: number(row.calls),
    errors: number(row.errors),
    airtable_requests: number(row.airtable_requests),
    chat_turns: number(row.chat_turns),
    workflow_steps: number(row.workflow_steps),
    input_tokens: number(row.input_tokens),
    output_tokens: number(row.output_tokens),
    cost_usd: Math.round(number(row.cost_usd) * 1e6) / 1e6,
  };
}
