/**
 * The orchestrator's rows, over the shared Kysely database (SQLite or
 * PostgreSQL). Everything a turn needs to continue lives here, so any
 * replica can pick up any session.
 */
import type { Content } from '@google/genai';
import { type Kysely, sql } from 'kysely';

export type SessionStatus = 'idle' | 'awaiting_approval';

export interface ChatSessionsTable {
  id: string;
  owner_id: string;
  user_id: string | null;
  principal_kind: string;
  title: string | null;
  model: string;
  base_id: string | null;
  status: SessionStatus;
  turn_state: string | null;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface ChatMessagesTable {
  id: number | undefined;
  session_id: string;
  turn_id: string;
  role: string;
  content: string;
  created_at: string;
}

export interface ChatTurnsTable {
  id: string;
  session_id: string;
  owner_id: string;
  user_id: string | null;
  model: string;
  message: string;
  response: string | null;
  status: string;
  tools_used: string;
  input_tokens: number;
  output_tokens: number;
  thinking_tokens: number;
  cached_tokens: number;
  tool_use_tokens: number;
  cost_usd: number;
  hops: number;
  trimmed: number;
  duration_ms: number;
  started_at: string;
  updated_at: string;
}

export type BudgetScope = 'user' | 'session';
export type BudgetPeriod = 'session' | 'daily' | 'weekly' | 'monthly';

export interface ChatBudgetsTable {
  scope: BudgetScope;
  subject_id: string;
  limit_usd: number;
  period: BudgetPeriod;
  alert_threshold: number;
  created_at: string;
  updated_at: string;
}

export interface OrchestratorTables {
  chat_sessions: ChatSessionsTable;
  chat_messages: ChatMessagesTable;
  chat_turns: ChatTurnsTable;
  chat_budgets: ChatBudgetsTable;
}

export type SessionRow = ChatSessionsTable;
export type TurnRow = ChatTurnsTable;
export type BudgetRow = ChatBudgetsTable;

export interface StoredContent {
  id: number;
  turnId: string;
  content: Content;
  createdAt: string;
}

export class ChatRepository {
  readonly db: Kysely<OrchestratorTables>;

  constructor(db: Kysely<unknown>) {
    this.db = db as unknown as Kysely<OrchestratorTables>;
  }

  /* ---- sessions ---- */

  async createSession(row: SessionRow): Promise<void> {
    await this.db.insertInto('chat_sessions').values(row).execute();
  }

  async getSession(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('chat_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listSessions(ownerId: string, limit = 100): Promise<SessionRow[]> {
    return this.db
      .selectFrom('chat_sessions')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .orderBy('updated_at', 'desc')
      .limit(limit)
      .execute();
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRow, 'id'>>): Promise<void> {
    await this.db.updateTable('chat_sessions').set(patch).where('id', '=', id).execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('chat_messages').where('session_id', '=', id).execute();
      await trx.deleteFrom('chat_turns').where('session_id', '=', id).execute();
      await trx
        .deleteFrom('chat_budgets')
        .where('scope', '=', 'session')
        .where('subject_id', '=', id)
        .execute();
      await trx.deleteFrom('chat_sessions').where('id', '=', id).execute();
    });
  }

  /**
   * Takes the session for one turn: true when nobody else holds it (or their
   * hold expired, e.g. a replica that died mid-turn).
   */
  async lockSession(id: string, now: Date, holdMs: number): Promise<boolean> {
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + holdMs).toISOString();
    const result = await this.db
      .updateTable('chat_sessions')
      .set({ locked_until: until })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', nowIso)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async unlockSession(id: string): Promise<void> {
    await this.db.updateTable('chat_sessions').set({ locked_until: null }).where('id', '=', id).execute();
  }

  /* ---- contents ---- */

  async appendContents(
    sessionId: string,
    turnId: string,
    contents: readonly Content[],
    at: string,
  ): Promise<void> {
    if (!contents.length) return;
    await this.db
      .insertInto('chat_messages')
      .values(
        contents.map((content) => ({
          session_id: sessionId,
          turn_id: turnId,
          role: content.role ?? 'user',
          content: JSON.stringify(content),
          created_at: at,
        })),
      )
      .execute();
    await this.db.updateTable('chat_sessions').set({ updated_at: at }).where('id', '=', sessionId).execute();
  }

  async loadContents(sessionId: string): Promise<StoredContent[]> {
    const rows = await this.db
      .selectFrom('chat_messages')
      .select(['id', 'turn_id', 'content', 'created_at'])
      .where('session_id', '=', sessionId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      turnId: row.turn_id,
      content: JSON.parse(row.content) as Content,
      createdAt: row.created_at,
    }));
  }

  /* ---- turns ---- */

  async saveTurn(row: TurnRow): Promise<void> {
    const { id, ...rest } = row;
    const existing = await this.db
      .selectFrom('chat_turns')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (existing) await this.db.updateTable('chat_turns').set(rest).where('id', '=', id).execute();
    else await this.db.insertInto('chat_turns').values(row).execute();
  }

  async getTurn(id: string): Promise<TurnRow | undefined> {
    return this.db.selectFrom('chat_turns').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listTurns(sessionId: string): Promise<TurnRow[]> {
    return this.db
      .selectFrom('chat_turns')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('started_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
  }

  /** Turn count and estimated cost per session. */
  async turnStats(sessionIds: readonly string[]): Promise<Map<string, { turns: number; cost: number }>> {
    const stats = new Map<string, { turns: number; cost: number }>();
    if (!sessionIds.length) return stats;
    const rows = await this.db
      .selectFrom('chat_turns')
      .select([
        'session_id',
        sql<number>`count(*)`.as('turns'),
        sql<number>`coalesce(sum(cost_usd), 0)`.as('cost'),
      ])
      .where('session_id', 'in', sessionIds)
      .groupBy('session_id')
      .execute();
    for (const row of rows) stats.set(row.session_id, { turns: Number(row.turns), cost: Number(row.cost) });
    return stats;
  }

  /** Estimated dollars spent by an owner (or in a session) since a time. */
  async spent(filter: { ownerId?: string; sessionId?: string }, since?: string): Promise<number> {
    let query = this.db.selectFrom('chat_turns').select(sql<number>`coalesce(sum(cost_usd), 0)`.as('total'));
    if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
    if (filter.sessionId) query = query.where('session_id', '=', filter.sessionId);
    if (since) query = query.where('started_at', '>=', since);
    const row = await query.executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  /* ---- budgets ---- */

  async getBudget(scope: BudgetScope, subjectId: string): Promise<BudgetRow | undefined> {
    return this.db
      .selectFrom('chat_budgets')
      .selectAll()
      .where('scope', '=', scope)
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
  }

  async putBudget(row: Omit<BudgetRow, 'created_at'> & { created_at?: string }): Promise<BudgetRow> {
    const existing = await this.getBudget(row.scope, row.subject_id);
    const full: BudgetRow = { ...row, created_at: existing?.created_at ?? row.created_at ?? row.updated_at };
    if (existing) {
      await this.db
        .updateTable('chat_budgets')
        .set({
          limit_usd: full.limit_usd,
          period: full.period,
          alert_threshold: full.alert_threshold,
          updated_at: full.updated_at,
        })
        .where('scope', '=', row.scope)
        .where('subject_id', '=', row.subject_id)
        .execute();
    } else {
      await this.db.insertInto('chat_budgets').values(full).execute();
    }
    return full;
  }

  async deleteBudget(scope: BudgetScope, subjectId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('chat_budgets')
      .where('scope', '=', scope)
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listBudgets(filter?: { userSubject?: string; sessionIds?: readonly string[] }): Promise<BudgetRow[]> {
    let query = this.db.selectFrom('chat_budgets').selectAll();
    if (filter) {
      const { userSubject, sessionIds = [] } = filter;
      query = query.where((eb) =>
        eb.or([
          eb.and([eb('scope', '=', 'user'), eb('subject_id', '=', userSubject ?? '')]),
          ...(sessionIds.length
            ? [eb.and([eb('scope', '=', 'session'), eb('subject_id', 'in', sessionIds)])]
            : []),
        ]),
      );
    }
    return query.orderBy('scope').orderBy('subject_id').execute();
  }

  /* ---- GDPR ---- */

  async sessionsOfUser(userId: string): Promise<SessionRow[]> {
    return this.db
      .selectFrom('chat_sessions')
      .selectAll()
      .where((eb) => eb.or([eb('user_id', '=', userId), eb('owner_id', '=', userId)]))
      .orderBy('created_at')
      .execute();
  }

  async eraseUser(userId: string): Promise<void> {
    const sessions = await this.sessionsOfUser(userId);
    for (const session of sessions) await this.deleteSession(session.id);
    await this.db
      .deleteFrom('chat_turns')
      .where((eb) => eb.or([eb('user_id', '=', userId), eb('owner_id', '=', userId)]))
      .execute();
    await this.db
      .deleteFrom('chat_budgets')
      .where('scope', '=', 'user')
      .where('subject_id', '=', userId)
      .execute();
  }
}
