/**
 * Spending limits, per user (everything a user's principals spend) and per
 * session. A turn is refused before Gemini is called when what was spent in
 * the budget's period plus the turn's estimate would pass the limit;
 * warnings start at the alert threshold. Figures are estimates from the
 * price table, like every cost here.
 */
import { HttpProblem } from '../app/api.js';
import type { BudgetPeriod, BudgetRow, ChatRepository, SessionRow } from './repository.js';
import type { BudgetState } from './types.js';

/** The original system's guess for a turn's output when checking a budget ahead of the call. */
export const ASSUMED_OUTPUT_TOKENS = 1_500;

/** When the current period began and when it ends (UTC); `session` periods never reset. */
export function periodWindow(period: BudgetPeriod, now: Date): { since?: string; resetsAt?: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  if (period === 'daily') return span(new Date(Date.UTC(y, m, d)), new Date(Date.UTC(y, m, d + 1)));
  if (period === 'weekly') {
    const sinceMonday = (now.getUTCDay() + 6) % 7;
    return span(new Date(Date.UTC(y, m, d - sinceMonday)), new Date(Date.UTC(y, m, d - sinceMonday + 7)));
  }
  if (period === 'monthly') return span(new Date(Date.UTC(y, m, 1)), new Date(Date.UTC(y, m + 1, 1)));
  return {};
}

function span(since: Date, resetsAt: Date) {
  return { since: since.toISOString(), resetsAt };
}

export interface BudgetCheck {
  states: BudgetState[];
  warnings: string[];
}

/** The budgets that apply to a turn in this session, with what was spent. */
export async function budgetStates(
  repo: ChatRepository,
  session: SessionRow,
  now: Date,
): Promise<BudgetState[]> {
  const rows = [await repo.getBudget('user', session.owner_id), await repo.getBudget('session', session.id)];
  const states: BudgetState[] = [];
  for (const row of rows) if (row) states.push(await stateOf(repo, row, session, now));
  return states;
}

async function stateOf(
  repo: ChatRepository,
  row: BudgetRow,
  session: SessionRow,
  now: Date,
): Promise<BudgetState> {
  const { since, resetsAt } = periodWindow(row.period, now);
  const filter =
    row.scope === 'session'
      ? { sessionId: session.id }
      : row.period === 'session'
        ? { ownerId: session.owner_id, sessionId: session.id }
        : { ownerId: session.owner_id };
  const spent = await repo.spent(filter, since);
  return {
    scope: row.scope,
    subject_id: row.subject_id,
    limit_usd: row.limit_usd,
    period: row.period,
    alert_threshold: row.alert_threshold,
    spent_usd: round(spent),
    remaining_usd: round(Math.max(0, row.limit_usd - spent)),
    resets_at: resetsAt?.toISOString() ?? null,
  };
}

/** Throws a 429 problem when a budget would be passed; otherwise returns the states and any warnings. */
export async function checkBudgets(
  repo: ChatRepository,
  session: SessionRow,
  estimateUsd: number,
  now: Date,
): Promise<BudgetCheck> {
  const states = await budgetStates(repo, session, now);
  const warnings: string[] = [];
  for (const state of states) {
    const after = state.spent_usd + estimateUsd;
    const label = `${state.scope} budget ($${state.limit_usd} ${periodLabel(state.period)})`;
    if (after > state.limit_usd || state.spent_usd >= state.limit_usd) {
      const resets = state.resets_at ? `; it resets at ${state.resets_at}` : '';
      const retryAfter = state.resets_at ? (Date.parse(state.resets_at) - now.getTime()) / 1000 : undefined;
      throw new HttpProblem(
        429,
        'Too Many Requests',
        `This turn would pass the ${label}: $${fmt(state.spent_usd)} spent, about $${fmt(estimateUsd)} more needed (estimates)${resets}.`,
        {
          type: 'urn:airtable-mcp-kit:chat-budget-exceeded',
          headers: retryAfter && retryAfter > 0 ? { 'Retry-After': String(Math.ceil(retryAfter)) } : {},
          members: { budget: state, estimate_usd: round(estimateUsd) },
        },
      );
    }
    if (after >= state.alert_threshold * state.limit_usd) {
      warnings.push(
        `${Math.round((after / state.limit_usd) * 100)}% of the ${label} used ($${fmt(after)} of $${state.limit_usd}, estimated).`,
      );
    }
  }
  return { states, warnings };
}

function periodLabel(period: BudgetPeriod): string {
  return period === 'session'
    ? 'per session'
    : period === 'daily'
      ? 'per day'
      : period === 'weekly'
        ? 'per week'
        : 'per month';
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function fmt(value: number): string {
  return value < 0.01 ? value.toFixed(6) : value.toFixed(4);
}
