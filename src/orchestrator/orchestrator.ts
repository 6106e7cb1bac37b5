/**
 * The orchestrator as one object: chat turns (events + result), sessions,
 * history, budgets and the model list. The HTTP routes, the terminal chat
 * and the library all use it, so they behave the same.
 */
import { problems } from '../app/api.js';
import { hasScope, type Principal } from '../app/principal.js';
import type { ToolRuntime } from '../app/runtime.js';
import type { UsageSink } from '../app/usage.js';
import type { Logger } from '../logger.js';
import { budgetStates } from './budgets.js';
import { ChatEngine, type DecideInput, type EngineSettings, ownerOf, type SendInput } from './engine.js';
import { GeminiClient, type GeminiSettings } from './gemini.js';
import { KNOWN_MODELS, type ModelPrice, modelInfo } from './models.js';
import type { BudgetPeriod, BudgetRow, BudgetScope, ChatRepository, SessionRow } from './repository.js';
import { ChatTurn } from './turn.js';
import type { BudgetState, ChatResult, EmitEvent } from './types.js';

export interface OrchestratorDeps {
  repo: ChatRepository;
  tools: ToolRuntime;
  usage?: UsageSink;
  logger: Logger;
  settings: EngineSettings;
  /** Without an API key the chat answers 503; everything else works. */
  gemini?: Omit<GeminiSettings, 'apiKey' | 'maxOutputTokens'> & { apiKey?: string };
  prices: Readonly<Record<string, ModelPrice>>;
  defaultBase?: string;
  now?: () => Date;
}

export interface SessionSummary {
  session_id: string;
  title: string | null;
  model: string;
  base_id: string | null;
  status: SessionRow['status'];
  turns: number;
  cost_usd: number;
  created_at: string;
  updated_at: string;
}

export interface HistoryEntry {
  role: 'user' | 'assistant';
  message: string;
  timestamp: string;
  turn_id: string;
  tools_used?: string[];
  token_count?: number;
  cost?: number;
  model_used?: string;
  response_time_ms?: number;
  status?: string;
}

export interface BudgetInput {
  limitUsd: number;
  period?: BudgetPeriod;
  alertThreshold?: number;
}

export class Orchestrator {
  readonly #engine: ChatEngine;
  readonly #deps: OrchestratorDeps;

  constructor(deps: OrchestratorDeps) {
    this.#deps = deps;
    const gemini =
      deps.gemini?.apiKey !== undefined
        ? new GeminiClient({
            ...deps.gemini,
            apiKey: deps.gemini.apiKey,
            maxOutputTokens: deps.settings.maxOutputTokens,
          })
        : undefined;
    this.#engine = new ChatEngine({ ...deps, gemini });
  }

  /** Whether an API key is configured (the chat can run). */
  get configured(): boolean {
    return this.#deps.gemini?.apiKey !== undefined;
  }

  get settings(): EngineSettings {
    return this.#deps.settings;
  }

  send(input: SendInput): ChatTurn {
    return new ChatTurn((emit) => this.runSend(input, emit));
  }

  decide(input: DecideInput): ChatTurn {
    return new ChatTurn((emit) => this.runDecide(input, emit));
  }

  /** The turn itself, for callers that bring their own event sink. */
  runSend(input: SendInput, emit: EmitEvent): Promise<ChatResult> {
    return this.#engine.send(input, emit);
  }

  runDecide(input: DecideInput, emit: EmitEvent): Promise<ChatResult> {
    return this.#engine.decide(input, emit);
  }

  async listSessions(principal: Principal): Promise<SessionSummary[]> {
    const sessions = await this.#deps.repo.listSessions(ownerOf(principal));
    const stats = await this.#deps.repo.turnStats(sessions.map((session) => session.id));
    return sessions.map((session) => ({
      session_id: session.id,
      title: session.title,
      model: session.model,
      base_id: session.base_id,
      status: session.status,
      turns: stats.get(session.id)?.turns ?? 0,
      cost_usd: round(stats.get(session.id)?.cost ?? 0),
      created_at: session.created_at,
      updated_at: session.updated_at,
    }));
  }

  async session(principal: Principal, id: string): Promise<SessionRow> {
    const session = await this.#deps.repo.getSession(id);
    if (!session || session.owner_id !== ownerOf(principal)) throw problems.notFound(`No session ${id}.`);
    return session;
  }

  /** The conversation as the original system showed it; `raw` adds every stored Content. */
  async history(principal: Principal, id: string, raw = false) {
    const session = await this.session(principal, id);
    const turns = await this.#deps.repo.listTurns(id);
    const history: HistoryEntry[] = [];
    for (const turn of turns) {
      history.push({ role: 'user', message: turn.message, timestamp: turn.started_at, turn_id: turn.id });
      history.push({
        role: 'assistant',
        message: turn.response ?? '',
        timestamp: turn.updated_at,
        turn_id: turn.id,
        tools_used: JSON.parse(turn.tools_used) as string[],
        token_count: turn.input_tokens + turn.output_tokens + turn.thinking_tokens + turn.tool_use_tokens,
        cost: round(turn.cost_usd),
        model_used: turn.model,
        response_time_ms: turn.duration_ms,
        status: turn.status,
      });
    }
    const body: Record<string, unknown> = { session_id: session.id, status: session.status, history };
    if (raw) {
      body.contents = (await this.#deps.repo.loadContents(id)).map((stored) => ({
        turn_id: stored.turnId,
        created_at: stored.createdAt,
        ...stored.content,
      }));
    }
    return body;
  }

  async deleteSession(principal: Principal, id: string): Promise<void> {
    await this.session(principal, id);
    await this.#deps.repo.deleteSession(id);
  }

  /* ---- budgets ---- */

  /** 'me' is the caller's own user budget. Others' budgets need the admin scope. */
  budgetSubject(principal: Principal, scope: BudgetScope, id: string): string {
    return scope === 'user' && id === 'me' ? ownerOf(principal) : id;
  }

  async #mayRead(principal: Principal, scope: BudgetScope, subject: string): Promise<void> {
    if (hasScope(principal, 'admin')) return;
    if (scope === 'user' && subject === ownerOf(principal)) return;
    if (scope === 'session') {
      await this.session(principal, subject);
      return;
    }
    throw problems.forbidden("Only an admin may see another user's budget.");
  }

  async #mayWrite(principal: Principal, scope: BudgetScope, subject: string): Promise<void> {
    if (hasScope(principal, 'admin')) return;
    if (scope === 'session') {
      await this.session(principal, subject);
      return;
    }
    throw problems.forbidden('Only an admin may set user budgets.');
  }

  async getBudget(principal: Principal, scope: BudgetScope, id: string): Promise<BudgetState> {
    const subject = this.budgetSubject(principal, scope, id);
    await this.#mayRead(principal, scope, subject);
    const row = await this.#deps.repo.getBudget(scope, subject);
    if (!row) throw problems.notFound(`No ${scope} budget for ${subject}.`);
    return this.#state(row);
  }

  async putBudget(
    principal: Principal,
    scope: BudgetScope,
    id: string,
    input: BudgetInput,
  ): Promise<BudgetState> {
    const subject = this.budgetSubject(principal, scope, id);
    await this.#mayWrite(principal, scope, subject);
    const now = (this.#deps.now?.() ?? new Date()).toISOString();
    const row = await this.#deps.repo.putBudget({
      scope,
      subject_id: subject,
      limit_usd: input.limitUsd,
      period: input.period ?? (scope === 'session' ? 'session' : 'monthly'),
      alert_threshold: input.alertThreshold ?? 0.8,
      updated_at: now,
      created_at: now,
    });
    return this.#state(row);
  }

  async deleteBudget(principal: Principal, scope: BudgetScope, id: string): Promise<void> {
    const subject = this.budgetSubject(principal, scope, id);
    await this.#mayWrite(principal, scope, subject);
    if (!(await this.#deps.repo.deleteBudget(scope, subject))) {
      throw problems.notFound(`No ${scope} budget for ${subject}.`);
    }
  }

  /** The caller's own budgets (admins: all of them), with what was spent. */
  async listBudgets(principal: Principal): Promise<BudgetState[]> {
    const rows = hasScope(principal, 'admin')
      ? await this.#deps.repo.listBudgets()
      : await this.#deps.repo.listBudgets({
          userSubject: ownerOf(principal),
          sessionIds: (await this.#deps.repo.listSessions(ownerOf(principal), 1_000)).map((s) => s.id),
        });
    return Promise.all(rows.map((row) => this.#state(row)));
  }

  async #state(row: BudgetRow): Promise<BudgetState> {
    const now = this.#deps.now?.() ?? new Date();
    // A user budget is measured across the user's sessions; a stand-in session carries the owner.
    const session =
      row.scope === 'session'
        ? await this.#deps.repo.getSession(row.subject_id)
        : ({ id: '', owner_id: row.subject_id } as SessionRow);
    const states = await budgetStates(
      this.#deps.repo,
      session ?? ({ id: row.subject_id, owner_id: '' } as SessionRow),
      now,
    );
    return states.find((state) => state.scope === row.scope) ?? emptyState(row);
  }

  /* ---- models ---- */

  models() {
    const ids = new Set([
      this.#deps.settings.model,
      ...KNOWN_MODELS.map((m) => m.id),
      ...Object.keys(this.#deps.prices),
    ]);
    return {
      default_model: this.#deps.settings.model,
      models: [...ids].map((id) => {
        const info = modelInfo(id);
        const price = this.#deps.prices[id];
        return {
          id,
          default: id === this.#deps.settings.model,
          family: info.family,
          thinking:
            info.thinking.kind === 'level'
              ? { kind: 'level', levels: info.thinking.levels, default_level: info.thinking.defaultLevel }
              : {
                  kind: 'budget',
                  min: info.thinking.min,
                  max: info.thinking.max,
                  can_disable: info.thinking.canDisable,
                  dynamic: -1,
                },
          prices: price
            ? {
                input_per_mtok: price.inputPerMTok,
                output_per_mtok: price.outputPerMTok,
                cached_input_per_mtok: price.cachedInputPerMTok ?? price.inputPerMTok,
                thinking_billed_as: 'output',
                currency: 'USD',
                estimate: true,
                source: price.source ?? null,
              }
            : null,
          note: info.note ?? null,
        };
      }),
    };
  }
}

function emptyState(row: BudgetRow): BudgetState {
  return {
    scope: row.scope,
    subject_id: row.subject_id,
    limit_usd: row.limit_usd,
    period: row.period,
    alert_threshold: row.alert_threshold,
    spent_usd: 0,
    remaining_usd: row.limit_usd,
    resets_at: null,
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
