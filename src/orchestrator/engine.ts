/**
 * The chat engine: our own tool loop around Gemini (no automatic function
 * calling). One turn = model call, tool calls (in parallel, through the
 * tool runtime with the caller's principal), model call… until the model
 * answers in text, the step cap or the deadline. Writing tools may pause
 * the turn until the person approves (CHAT_WRITE_POLICY=ask); the paused
 * state lives in the store, so any replica continues it.
 *
 * Every model content is stored and sent back exactly as received (thought
 * signatures included); functionResponse.response is always an object.
 */
import { randomUUID } from 'node:crypto';
import type { Content, Part } from '@google/genai';
import { HttpProblem, problems } from '../app/api.js';
import { canUseBase, type Principal } from '../app/principal.js';
import type { ToolCallOutcome, ToolRuntime } from '../app/runtime.js';
import type { UsageSink } from '../app/usage.js';
import type { Logger } from '../logger.js';
import type { DefinedTool } from '../tools/define.js';
import { ASSUMED_OUTPUT_TOKENS, type BudgetCheck, budgetStates, checkBudgets } from './budgets.js';
import { declarationsFor } from './declarations.js';
import { type GeminiClient, GeminiError } from './gemini.js';
import {
  type AppliedThinking,
  addTokens,
  estimateCost,
  type ModelPrice,
  modelInfo,
  NO_TOKENS,
  type ThinkingLevel,
  type TokenUsage,
  thinkingConfigFor,
  tokensFrom,
} from './models.js';
import { NO_KEY_HELP } from './options.js';
import type { ChatRepository, SessionRow } from './repository.js';
import {
  type ChatResult,
  type CostSummary,
  type EmitEvent,
  type PendingCall,
  type ToolCallSummary,
  thinkingOut,
  type UsageSummary,
} from './types.js';

export type WritePolicy = 'ask' | 'allow' | 'deny';

export interface EngineSettings {
  model: string;
  maxSteps: number;
  writePolicy: WritePolicy;
  turnTimeoutMs: number;
  contextTokens: number;
  thinkingBudget?: number;
  thinkingLevel?: ThinkingLevel;
  maxOutputTokens: number;
}

export interface EngineDeps {
  repo: ChatRepository;
  tools: ToolRuntime;
  usage?: UsageSink;
  /** Undefined without GEMINI_API_KEY: chat turns answer 503 with how to set it. */
  gemini?: GeminiClient;
  settings: EngineSettings;
  prices: Readonly<Record<string, ModelPrice>>;
  logger: Logger;
  defaultBase?: string;
  now?: () => Date;
}

export interface SendInput {
  principal: Principal;
  message: string;
  sessionId?: string;
  baseId?: string;
  model?: string;
  thinkingBudget?: number;
  thinkingLevel?: ThinkingLevel;
  /** Earlier messages of a conversation the caller kept itself (only for a new session). */
  earlier?: readonly { role: 'user' | 'model'; text: string }[];
  /** Stream text deltas from Gemini (SSE, terminal). */
  stream?: boolean;
  signal?: AbortSignal;
  /** Where the turn came from, for usage records: 'api', 'cli', 'library'. */
  source?: string;
}

export interface Decision {
  callId: string;
  approve: boolean;
}

export interface DecideInput {
  principal: Principal;
  sessionId: string;
  decisions: readonly Decision[];
  stream?: boolean;
  signal?: AbortSignal;
  source?: string;
}

/** One call the model asked for in the paused hop. */
interface PlannedCall {
  callId: string;
  /** The model's own id for the call, echoed in the functionResponse. */
  modelId?: string;
  name: string;
  args: Record<string, unknown>;
  /** Set once it ran, was refused or was decided. */
  response?: Part;
  summary?: ToolCallSummary;
  pending?: PendingCall;
  decision?: 'approved' | 'rejected';
}

/** A turn's progress; stored in the session while waiting for approvals. */
interface TurnState {
  turnId: string;
  model: string;
  thinking?: AppliedThinking;
  baseId?: string;
  message: string;
  steps: number;
  tokens: TokenUsage;
  /** Tokens not yet in a usage record (a record is written per segment: done, paused, failed). */
  unrecorded: TokenUsage;
  costUsd: number;
  /** Cost already in chat_turns (saved when the turn paused), so budgets do not count it twice. */
  savedCostUsd: number;
  toolCalls: ToolCallSummary[];
  warnings: string[];
  trimmed: number;
  activeMs: number;
  startedAt: string;
  texts: string[];
  paused?: PlannedCall[];
  source: string;
  /** The principal of the running segment, for usage records. */
  actor?: { kind: string; id: string };
}

const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PREVIEW_CHARS = 200;
const CHARS_PER_TOKEN = 4;
const BLOCKED_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'LANGUAGE',
]);

export function ownerOf(principal: Principal): string {
  return principal.userId ?? principal.id;
}

export class ChatEngine {
  constructor(private readonly deps: EngineDeps) {}

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  #requireGemini(): GeminiClient {
    if (!this.deps.gemini) throw problems.unavailable(`The chat is not configured. ${NO_KEY_HELP}`);
    return this.deps.gemini;
  }

  /** Starts (or continues) a session with a user message and runs the turn. */
  async send(input: SendInput, emit: EmitEvent): Promise<ChatResult> {
    const gemini = this.#requireGemini();
    const message = input.message.trim();
    if (!message)
      throw problems.badRequest('message is empty', [{ field: 'message', message: 'must not be empty' }]);
    const session = await this.#openSession(input);
    const baseId = input.baseId ?? session.base_id ?? undefined;
    if (baseId && !canUseBase(input.principal, baseId)) {
      throw problems.forbidden(`You may not use base ${baseId}.`);
    }
    if (session.status === 'awaiting_approval') {
      throw new HttpProblem(
        409,
        'Conflict',
        `Session ${session.id} is waiting for approvals: decide them with POST /api/sessions/${session.id}/approvals first.`,
        { members: { pending: pendingOf(parseState(session.turn_state)) } },
      );
    }
    const model = input.model ?? session.model ?? this.deps.settings.model;
    const thinking = thinkingConfigFor(modelInfo(model), {
      budget: input.thinkingBudget ?? this.deps.settings.thinkingBudget,
      level: input.thinkingLevel ?? this.deps.settings.thinkingLevel,
    });
    const history = answerInterruptedCalls(
      (await this.deps.repo.loadContents(session.id)).map((stored) => stored.content),
    );
    const earlier = history.length === 0 ? earlierContents(input.earlier) : [];
    const userContent: Content = { role: 'user', parts: [{ text: message }] };
    const { contents, trimmed } = trimHistory(
      [...history, ...earlier],
      userContent,
      this.deps.settings.contextTokens,
    );

    const now = this.#now();
    const budget = await this.#checkBudget(session, model, contents, now);
    await this.#lock(session.id, now);
    const state: TurnState = {
      turnId: `turn_${randomUUID()}`,
      model,
      thinking,
      baseId,
      message,
      steps: 0,
      tokens: { ...NO_TOKENS },
      unrecorded: { ...NO_TOKENS },
      costUsd: 0,
      savedCostUsd: 0,
      toolCalls: [],
      warnings: [...budget.warnings],
      trimmed,
      activeMs: 0,
      startedAt: now.toISOString(),
      texts: [],
      source: input.source ?? 'api',
    };
    if (thinking?.adjusted) state.warnings.push(thinking.adjusted);
    if (trimmed) state.warnings.push(`${trimmed} older messages were left out to fit the history budget.`);
    emit({ type: 'session', session_id: session.id, turn_id: state.turnId, model });
    for (const warning of state.warnings) emit({ type: 'warning', message: warning });
    const patch: Partial<SessionRow> = { model, base_id: baseId ?? null, updated_at: now.toISOString() };
    if (!session.title) patch.title = message.slice(0, 80);
    await this.deps.repo.updateSession(session.id, patch);
    await this.deps.repo.appendContents(
      session.id,
      state.turnId,
      [...earlier, userContent],
      now.toISOString(),
    );
    return this.#run(gemini, { ...session, ...patch }, state, contents, input, emit);
  }

  /** Records decisions on a paused turn; when none is left open, runs the approved calls and continues. */
  async decide(input: DecideInput, emit: EmitEvent): Promise<ChatResult> {
    const gemini = this.#requireGemini();
    const session = await this.#ownedSession(input.principal, input.sessionId);
    const state = parseState(session.turn_state);
    if (session.status !== 'awaiting_approval' || !state?.paused) {
      throw problems.conflict(`Session ${session.id} has no calls waiting for approval.`);
    }
    for (const decision of input.decisions) {
      const call = state.paused.find((c) => c.callId === decision.callId);
      if (!call?.pending)
        throw problems.notFound(`No pending call ${decision.callId} in session ${session.id}.`);
      if (call.decision) throw problems.conflict(`Call ${decision.callId} was already ${call.decision}.`);
      call.decision = decision.approve ? 'approved' : 'rejected';
    }
    const now = this.#now();
    const open = state.paused.filter((call) => call.pending && !call.decision);
    if (open.length) {
      await this.deps.repo.updateSession(session.id, {
        turn_state: JSON.stringify(state),
        updated_at: now.toISOString(),
      });
      return this.#result(session, state, 'approval_required', undefined, await this.#budgets(session));
    }
    await this.#lock(session.id, now);
    emit({ type: 'session', session_id: session.id, turn_id: state.turnId, model: state.model });
    const started = performance.now();
    try {
      const signal = this.#turnSignal(input.signal);
      await this.#runCalls(
        state.paused.filter((call) => call.decision === 'approved'),
        input.principal,
        session.id,
        signal,
        emit,
      );
      for (const call of state.paused.filter((c) => c.decision === 'rejected')) this.#reject(call, emit);
      state.toolCalls.push(...state.paused.map((call) => call.summary!).filter(Boolean));
      const responses: Content = { role: 'user', parts: state.paused.map((call) => call.response!) };
      state.paused = undefined;
      state.activeMs += performance.now() - started;
      await this.deps.repo.appendContents(session.id, state.turnId, [responses], this.#now().toISOString());
      await this.deps.repo.updateSession(session.id, { status: 'idle', turn_state: null });
    } catch (error) {
      await this.deps.repo.unlockSession(session.id);
      throw error;
    }
    const history = (await this.deps.repo.loadContents(session.id)).map((stored) => stored.content);
    const last = history.pop()!;
    const { contents } = trimHistory(history, last, this.deps.settings.contextTokens);
    return this.#run(gemini, { ...session, status: 'idle', turn_state: null }, state, contents, input, emit);
  }

  /** The loop, from the next model call on. Holds the session lock; always releases it. */
  async #run(
    gemini: GeminiClient,
    session: SessionRow,
    state: TurnState,
    contents: Content[],
    input: { principal: Principal; stream?: boolean; signal?: AbortSignal },
    emit: EmitEvent,
  ): Promise<ChatResult> {
    const started = performance.now();
    // Who runs this segment (an approval may come from another key of the same owner).
    state.actor = { kind: input.principal.kind, id: input.principal.id };
    const signal = this.#turnSignal(input.signal);
    const deadline = Date.now() + this.deps.settings.turnTimeoutMs;
    const declarations = declarationsFor(this.deps.tools.list(input.principal));
    const system = systemInstruction(state.baseId ?? this.deps.defaultBase, this.deps.settings.writePolicy);
    let finishReason: string | undefined;
    try {
      for (;;) {
        if (state.steps >= this.deps.settings.maxSteps) {
          state.warnings.push(
            `Stopped after ${state.steps} model calls (CHAT_MAX_STEPS=${this.deps.settings.maxSteps}).`,
          );
          emit({ type: 'warning', message: state.warnings.at(-1)! });
          state.texts.push(
            `I stopped after ${state.steps} steps without finishing. Ask me to continue, or narrow the question.`,
          );
          finishReason = 'MAX_STEPS';
          break;
        }
        if (state.steps > 0) {
          const stop = await this.#midTurnBudget(session, state, contents);
          if (stop) {
            finishReason = 'BUDGET';
            break;
          }
        }
        const hop = await gemini.generate({
          model: state.model,
          contents,
          systemInstruction: system,
          declarations,
          thinking: state.thinking,
          stream: input.stream === true,
          signal,
          deadline,
          onText: (text) => emit({ type: 'text', text }),
        });
        state.steps++;
        this.#account(state, hop.usageMetadata, emit);
        finishReason = hop.finishReason;
        const parts = hop.content.parts ?? [];
        if (hop.blockReason && !parts.length) {
          state.warnings.push(`Gemini blocked the request (block reason ${hop.blockReason}).`);
          state.texts.push(`Gemini refused to answer this request (${hop.blockReason}). Try rephrasing it.`);
          finishReason = hop.blockReason;
          break;
        }
        const modelContent: Content = { ...hop.content, role: 'model' };
        contents.push(modelContent);
        await this.deps.repo.appendContents(
          session.id,
          state.turnId,
          [modelContent],
          this.#now().toISOString(),
        );
        const text = textOf(parts);
        if (text) state.texts.push(text);
        if (text && input.stream !== true) emit({ type: 'text', text });
        const calls = planCalls(parts, state);
        if (!calls.length) {
          this.#explainFinish(state, finishReason, parts, emit);
          break;
        }
        const paused = await this.#handleCalls(calls, input.principal, session, state, signal, emit);
        if (paused) {
          state.activeMs += performance.now() - started;
          return await this.#pause(session, state, calls, emit);
        }
        const responses: Content = { role: 'user', parts: calls.map((call) => call.response!) };
        contents.push(responses);
        await this.deps.repo.appendContents(session.id, state.turnId, [responses], this.#now().toISOString());
      }
      state.activeMs += performance.now() - started;
      return await this.#finish(session, state, finishReason);
    } catch (error) {
      state.activeMs += performance.now() - started;
      throw await this.#fail(session, state, error, signal);
    } finally {
      await this.deps.repo.unlockSession(session.id).catch(() => undefined);
    }
  }

  /** Runs reads (and allowed writes) now; returns true when some writes wait for approval. */
  async #handleCalls(
    calls: PlannedCall[],
    principal: Principal,
    session: SessionRow,
    state: TurnState,
    signal: AbortSignal,
    emit: EmitEvent,
  ): Promise<boolean> {
    const visible = new Set(this.deps.tools.list(principal).map((tool) => tool.name));
    const now: PlannedCall[] = [];
    for (const call of calls) {
      emit({ type: 'tool_call', id: call.callId, name: call.name, arguments: call.args });
      const tool = this.deps.tools.get(call.name);
      const writes = tool !== undefined && tool.kind !== 'read';
      // A tool the principal may not use is refused by the runtime itself: nothing to approve.
      if (!writes || !visible.has(call.name)) now.push(call);
      else if (this.deps.settings.writePolicy === 'deny') this.#refuseWrite(call, emit);
      else if (this.deps.settings.writePolicy === 'allow') now.push(call);
      else call.pending = pendingFor(call, tool, state.baseId ?? this.deps.defaultBase);
    }
    await this.#runCalls(now, principal, session.id, signal, emit);
    const waiting = calls.filter((call) => call.pending);
    if (!waiting.length) {
      state.toolCalls.push(...calls.map((call) => call.summary!));
      return false;
    }
    return true;
  }

  async #runCalls(
    calls: readonly PlannedCall[],
    principal: Principal,
    sessionId: string,
    signal: AbortSignal,
    emit: EmitEvent,
  ): Promise<void> {
    // Independent calls the model sent together run together; the runtime's limiter paces Airtable.
    await Promise.all(
      calls.map(async (call) => {
        const outcome = await this.#callTool(call, principal, sessionId, signal);
        call.response = functionResponse(
          call,
          outcome.isError ? { error: outcome.text } : { output: outcome.text },
        );
        call.summary = {
          id: call.callId,
          name: call.name,
          arguments: call.args,
          ok: !outcome.isError,
          outcome: outcome.outcome,
          duration_ms: Math.round(outcome.durationMs),
        };
        emit({
          type: 'tool_result',
          id: call.callId,
          name: call.name,
          ok: !outcome.isError,
          outcome: outcome.outcome,
          duration_ms: call.summary.duration_ms,
          preview: outcome.text.slice(0, PREVIEW_CHARS),
        });
      }),
    );
  }

  async #callTool(
    call: PlannedCall,
    principal: Principal,
    sessionId: string,
    signal: AbortSignal,
  ): Promise<ToolCallOutcome> {
    if (!this.deps.tools.get(call.name)) {
      const names = this.deps.tools
        .list(principal)
        .map((tool) => tool.name)
        .join(', ');
      return {
        text: `There is no tool named ${call.name}. Available tools: ${names}.`,
        isError: true,
        outcome: 'invalid_input',
        durationMs: 0,
        airtableRequests: 0,
      };
    }
    return this.deps.tools.call(call.name, call.args, { principal, source: 'chat', sessionId, signal });
  }

  #refuseWrite(call: PlannedCall, emit: EmitEvent): void {
    const text = `${call.name} changes data, and writes are turned off in this chat (CHAT_WRITE_POLICY=deny). Tell the user what you would change instead.`;
    this.#settle(call, text, 'denied', emit);
  }

  #reject(call: PlannedCall, emit: EmitEvent): void {
    const text = `The user rejected this ${call.name} call; nothing was changed. Do not retry it unless they ask.`;
    this.#settle(call, text, 'rejected', emit);
  }

  #settle(call: PlannedCall, text: string, outcome: ToolCallSummary['outcome'], emit: EmitEvent): void {
    call.response = functionResponse(call, { error: text });
    call.summary = {
      id: call.callId,
      name: call.name,
      arguments: call.args,
      ok: false,
      outcome,
      duration_ms: 0,
    };
    emit({
      type: 'tool_result',
      id: call.callId,
      name: call.name,
      ok: false,
      outcome,
      duration_ms: 0,
      preview: text,
    });
  }

  async #pause(
    session: SessionRow,
    state: TurnState,
    calls: PlannedCall[],
    emit: EmitEvent,
  ): Promise<ChatResult> {
    state.paused = calls;
    const pending = pendingOf(state);
    emit({ type: 'approval_required', pending });
    this.#recordUsage(session, state, 'ok');
    await this.#saveTurn(session, state, 'approval_required');
    await this.deps.repo.updateSession(session.id, {
      status: 'awaiting_approval',
      turn_state: JSON.stringify(state),
      updated_at: this.#now().toISOString(),
    });
    return this.#result(session, state, 'approval_required', undefined, await this.#budgets(session));
  }

  async #finish(session: SessionRow, state: TurnState, finishReason: string | undefined) {
    this.#recordUsage(session, state, 'ok');
    await this.#saveTurn(session, state, 'done');
    return this.#result(session, state, 'done', finishReason, await this.#budgets(session));
  }

  /** Records what the failed turn cost and turns the error into an HTTP problem. */
  async #fail(session: SessionRow, state: TurnState, error: unknown, signal: AbortSignal) {
    this.#recordUsage(session, state, 'error');
    await this.#saveTurn(session, state, 'error').catch(() => undefined);
    if (error instanceof HttpProblem) return error;
    if (error instanceof GeminiError) {
      const title =
        error.status === 429
          ? 'Too Many Requests'
          : error.status === 504
            ? 'Gateway Timeout'
            : error.status === 503
              ? 'Service Unavailable'
              : 'Bad Gateway';
      return new HttpProblem(error.status, title, error.message);
    }
    if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') {
      return new HttpProblem(
        504,
        'Gateway Timeout',
        `The turn took longer than ${this.deps.settings.turnTimeoutMs} ms (CHAT_TURN_TIMEOUT_MS); what finished is kept in the session.`,
      );
    }
    if (signal.aborted) return new HttpProblem(499, 'Client Closed Request', 'The turn was cancelled.');
    this.deps.logger.error({ err: error, session: session.id }, 'chat turn failed');
    return new HttpProblem(
      500,
      'Internal Server Error',
      'The chat turn failed unexpectedly; see the server log.',
    );
  }

  #account(state: TurnState, usage: Parameters<typeof tokensFrom>[0], emit: EmitEvent): void {
    const tokens = tokensFrom(usage);
    state.tokens = addTokens(state.tokens, tokens);
    state.unrecorded = addTokens(state.unrecorded, tokens);
    state.costUsd += estimateCost(tokens, this.deps.prices[state.model]).totalUsd;
    emit({ type: 'usage', hop: state.steps, usage: usageOut(state), cost: this.#costOut(state) });
  }

  #costOut(state: TurnState): CostSummary {
    const cost = estimateCost(state.tokens, this.deps.prices[state.model]);
    return {
      total_usd: round(cost.totalUsd),
      input_usd: round(cost.inputUsd),
      output_usd: round(cost.outputUsd),
      thinking_usd: round(cost.thinkingUsd),
      currency: 'USD',
      estimate: true,
      priced: cost.priced,
    };
  }

  #recordUsage(session: SessionRow, state: TurnState, outcome: 'ok' | 'error'): void {
    const tokens = state.unrecorded;
    state.unrecorded = { ...NO_TOKENS };
    this.deps.usage?.record({
      kind: 'chat',
      name: state.model,
      outcome,
      durationMs: Math.round(state.activeMs),
      principalKind: state.actor?.kind ?? session.principal_kind,
      principalId: state.actor?.id ?? session.owner_id,
      userId: session.user_id,
      sessionId: session.id,
      source: state.source,
      inputTokens: tokens.inputTokens + tokens.toolUseTokens,
      outputTokens: tokens.outputTokens + tokens.thinkingTokens,
      // Unrounded: analytics sums many small turns.
      costUsd: estimateCost(tokens, this.deps.prices[state.model]).totalUsd,
      model: state.model,
      detail: {
        turn_id: state.turnId,
        steps: state.steps,
        thinking_tokens: tokens.thinkingTokens,
        cached_tokens: tokens.cachedTokens,
        tool_calls: state.toolCalls.length,
        cost_is_estimate: true,
      },
    });
  }

  async #saveTurn(session: SessionRow, state: TurnState, status: string): Promise<void> {
    await this.deps.repo.saveTurn({
      id: state.turnId,
      session_id: session.id,
      owner_id: session.owner_id,
      user_id: session.user_id,
      model: state.model,
      message: state.message,
      response: state.texts.join('\n\n') || null,
      status,
      tools_used: JSON.stringify(toolsUsed(state)),
      input_tokens: state.tokens.inputTokens,
      output_tokens: state.tokens.outputTokens,
      thinking_tokens: state.tokens.thinkingTokens,
      cached_tokens: state.tokens.cachedTokens,
      tool_use_tokens: state.tokens.toolUseTokens,
      cost_usd: state.costUsd,
      hops: state.steps,
      trimmed: state.trimmed,
      duration_ms: Math.round(state.activeMs),
      started_at: state.startedAt,
      updated_at: this.#now().toISOString(),
    });
    state.savedCostUsd = state.costUsd;
  }

  #explainFinish(state: TurnState, reason: string | undefined, parts: Part[], emit: EmitEvent): void {
    let warning: string | undefined;
    if (reason === 'MAX_TOKENS') {
      warning = `The answer was cut off at the output limit (GEMINI_MAX_OUTPUT_TOKENS=${this.deps.settings.maxOutputTokens}).`;
      state.texts.push('[The answer was truncated: it reached the output token limit.]');
    } else if (reason && BLOCKED_REASONS.has(reason)) {
      warning = `Gemini blocked the answer (finish reason ${reason}).`;
      state.texts.push(`[Gemini stopped this answer for ${reason}; nothing more can be shown.]`);
    } else if (reason === 'MALFORMED_FUNCTION_CALL' || reason === 'UNEXPECTED_TOOL_CALL') {
      warning = `Gemini produced a tool call it could not complete (${reason}).`;
      state.texts.push('[Gemini could not form a valid tool call. Please rephrase or try again.]');
    } else if (!textOf(parts)) {
      warning = `Gemini returned an empty answer${reason ? ` (finish reason ${reason})` : ''}.`;
    }
    if (warning) {
      state.warnings.push(warning);
      emit({ type: 'warning', message: warning });
    }
  }

  #result(
    session: SessionRow,
    state: TurnState,
    status: ChatResult['status'],
    finishReason: string | undefined,
    budgets: ChatResult['budgets'],
  ): ChatResult {
    const pending = status === 'approval_required' ? pendingOf(state) : undefined;
    const text = state.texts.join('\n\n');
    const response =
      status === 'approval_required' && !text
        ? `I need your approval before changing anything: ${pending!.map((p) => p.summary).join('; ')}.`
        : text;
    return {
      session_id: session.id,
      turn_id: state.turnId,
      response,
      status,
      ...(pending ? { pending } : {}),
      tools_used: toolsUsed(state),
      tool_calls: [
        ...state.toolCalls,
        ...(state.paused ?? []).flatMap((call) => (call.summary ? [call.summary] : [])),
      ],
      usage: usageOut(state),
      cost: this.#costOut(state),
      model: state.model,
      thinking: thinkingOut(state.thinking),
      finish_reason: finishReason ?? null,
      warnings: state.warnings,
      trimmed_messages: state.trimmed,
      budgets,
      timestamp: this.#now().toISOString(),
    };
  }

  async #budgets(session: SessionRow): Promise<ChatResult['budgets']> {
    return budgetStates(this.deps.repo, session, this.#now());
  }

  async #checkBudget(
    session: SessionRow,
    model: string,
    contents: Content[],
    now: Date,
  ): Promise<BudgetCheck> {
    const estimate = this.#estimate(model, contents);
    const check = await checkBudgets(this.deps.repo, session, estimate, now);
    if (check.states.length && !this.deps.prices[model]) {
      check.warnings.push(
        `Model ${model} has no price in the table (GEMINI_PRICING): budgets cannot count its cost.`,
      );
    }
    return check;
  }

  /** A budget passed during the turn ends it (with what it has) instead of failing it. */
  async #midTurnBudget(session: SessionRow, state: TurnState, contents: Content[]): Promise<boolean> {
    const spentSoFar = state.costUsd - state.savedCostUsd;
    try {
      // The turn's own cost is not in chat_turns yet: add it to the estimate.
      await checkBudgets(
        this.deps.repo,
        session,
        spentSoFar + this.#estimate(state.model, contents),
        this.#now(),
      );
      return false;
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      state.warnings.push(`Stopped: ${error.detail}`);
      state.texts.push('I stopped here because the chat budget would be exceeded.');
      return true;
    }
  }

  #estimate(model: string, contents: Content[]): number {
    const inputTokens = Math.ceil(JSON.stringify(contents).length / CHARS_PER_TOKEN);
    return estimateCost(
      { ...NO_TOKENS, inputTokens, outputTokens: ASSUMED_OUTPUT_TOKENS },
      this.deps.prices[model],
    ).totalUsd;
  }

  #turnSignal(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.deps.settings.turnTimeoutMs);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }

  async #lock(sessionId: string, now: Date): Promise<void> {
    const held = await this.deps.repo.lockSession(sessionId, now, this.deps.settings.turnTimeoutMs + 30_000);
    if (!held)
      throw problems.conflict(`A turn is already running in session ${sessionId}; wait for it to finish.`);
  }

  async #openSession(input: SendInput): Promise<SessionRow> {
    if (input.sessionId) {
      if (!SESSION_ID.test(input.sessionId)) {
        throw problems.badRequest('session_id is not valid', [
          { field: 'session_id', message: 'letters, digits and ._:- only, at most 128' },
        ]);
      }
      const existing = await this.deps.repo.getSession(input.sessionId);
      if (existing) {
        if (existing.owner_id !== ownerOf(input.principal))
          throw problems.notFound(`No session ${input.sessionId}.`);
        return existing;
      }
    }
    const now = this.#now().toISOString();
    const row: SessionRow = {
      id: input.sessionId ?? `chat_${randomUUID()}`,
      owner_id: ownerOf(input.principal),
      user_id: input.principal.userId ?? null,
      principal_kind: input.principal.kind,
      title: null,
      model: input.model ?? this.deps.settings.model,
      base_id: input.baseId ?? null,
      status: 'idle',
      turn_state: null,
      locked_until: null,
      created_at: now,
      updated_at: now,
    };
    await this.deps.repo.createSession(row);
    return row;
  }

  async #ownedSession(principal: Principal, sessionId: string): Promise<SessionRow> {
    const session = await this.deps.repo.getSession(sessionId);
    if (!session || session.owner_id !== ownerOf(principal))
      throw problems.notFound(`No session ${sessionId}.`);
    return session;
  }
}

/* ---- helpers ---- */

function parseState(text: string | null): TurnState | undefined {
  return text ? (JSON.parse(text) as TurnState) : undefined;
}

function pendingOf(state: TurnState | undefined): PendingCall[] {
  return (state?.paused ?? []).filter((call) => call.pending && !call.decision).map((call) => call.pending!);
}

function planCalls(parts: Part[], state: TurnState): PlannedCall[] {
  const calls: PlannedCall[] = [];
  for (const part of parts) {
    const call = part.functionCall;
    if (!call?.name) continue;
    calls.push({
      callId: call.id ?? `${state.turnId.replace(/^turn_/, 'call_')}_${state.steps}_${calls.length + 1}`,
      modelId: call.id,
      name: call.name,
      args: (call.args ?? {}) as Record<string, unknown>,
    });
  }
  return calls;
}

/**
 * A model content whose function calls never got their answers (a replica
 * died or the store failed between the call and its results) would make
 * every later request a 400. Such calls are answered, in what is sent (not
 * in the store), as interrupted: they may or may not have run.
 */
export function answerInterruptedCalls(history: readonly Content[]): Content[] {
  const out: Content[] = [];
  for (let i = 0; i < history.length; i++) {
    const content = history[i]!;
    out.push(content);
    if (content.role !== 'model') continue;
    const calls = (content.parts ?? []).flatMap((part) =>
      part.functionCall?.name ? [part.functionCall] : [],
    );
    if (!calls.length) continue;
    const next = history[i + 1];
    if (next?.role === 'user' && (next.parts ?? []).some((part) => part.functionResponse)) continue;
    out.push({
      role: 'user',
      parts: calls.map((call) => ({
        functionResponse: {
          ...(call.id ? { id: call.id } : {}),
          name: call.name,
          response: {
            error:
              'This call was interrupted before its result was saved; it may or may not have run. Check before repeating a change.',
          },
        },
      })),
    });
  }
  return out;
}

/** A functionResponse part: response is always an object ({output} or {error}), the call id echoed. */
function functionResponse(call: PlannedCall, response: { output: string } | { error: string }): Part {
  return {
    functionResponse: {
      ...(call.modelId ? { id: call.modelId } : {}),
      name: call.name,
      response,
    },
  };
}

function pendingFor(call: PlannedCall, tool: DefinedTool, defaultBase: string | undefined): PendingCall {
  const kind = tool.kind === 'destructive' ? 'destructive' : 'write';
  const args = call.args;
  const where: string[] = [];
  if (typeof args.table_id === 'string') where.push(`table "${args.table_id}"`);
  const base = typeof args.base_id === 'string' ? args.base_id : defaultBase;
  if (base) where.push(`base ${base}`);
  const what: string[] = [];
  const records = Array.isArray(args.records) ? args.records.length : undefined;
  if (records !== undefined) what.push(`${records} record${records === 1 ? '' : 's'}`);
  if (typeof args.record_id === 'string') what.push(`record ${args.record_id}`);
  if (Array.isArray(args.record_ids)) what.push(`${args.record_ids.length} records`);
  if (args.fields && typeof args.fields === 'object' && !Array.isArray(args.fields)) {
    what.push(`fields ${Object.keys(args.fields).join(', ')}`);
  }
  const verb = kind === 'destructive' ? 'removes or overwrites data' : 'adds or changes data';
  const detail = [what.join(', '), where.length ? `in ${where.join(' of ')}` : ''].filter(Boolean).join(' ');
  return {
    call_id: call.callId,
    tool: call.name,
    arguments: args,
    kind,
    summary: `${tool.title} (${call.name}) ${verb}${detail ? `: ${detail}` : ''}`,
  };
}

function textOf(parts: readonly Part[]): string {
  return parts
    .filter((part) => typeof part.text === 'string' && !part.thought)
    .map((part) => part.text)
    .join('');
}

function toolsUsed(state: TurnState): string[] {
  return [...new Set(state.toolCalls.map((call) => call.name))];
}

function usageOut(state: TurnState): UsageSummary {
  const t = state.tokens;
  return {
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    thinking_tokens: t.thinkingTokens,
    cached_tokens: t.cachedTokens,
    tool_use_tokens: t.toolUseTokens,
    total_tokens: t.totalTokens,
    hops: state.steps,
  };
}

function earlierContents(earlier: SendInput['earlier']): Content[] {
  return (earlier ?? [])
    .filter((message) => message.text.trim())
    .map((message) => ({ role: message.role, parts: [{ text: message.text }] }));
}

/**
 * The history the model sees: the newest exchanges that fit the token budget
 * (estimated at 4 characters a token), cut only where a person's message
 * starts an exchange, so a function call is never separated from its response.
 */
export function trimHistory(
  history: readonly Content[],
  latest: Content,
  budgetTokens: number,
): { contents: Content[]; trimmed: number } {
  const all = [...history, latest];
  const sizes = all.map((content) => Math.ceil(JSON.stringify(content).length / CHARS_PER_TOKEN));
  let total = sizes.reduce((sum, size) => sum + size, 0);
  let start = 0;
  while (total > budgetTokens) {
    const next = nextExchangeStart(all, start + 1);
    // The latest exchange is always kept, even when it alone is over the budget.
    if (next >= all.length) break;
    for (let i = start; i < next; i++) total -= sizes[i]!;
    start = next;
  }
  return { contents: all.slice(start), trimmed: start };
}

function nextExchangeStart(contents: readonly Content[], from: number): number {
  for (let i = from; i < contents.length; i++) {
    const content = contents[i]!;
    if (content.role === 'user' && (content.parts ?? []).some((part) => typeof part.text === 'string'))
      return i;
  }
  return contents.length;
}

function systemInstruction(baseId: string | undefined, policy: WritePolicy): string {
  const lines = [
    'You are an assistant that works on Airtable bases through the tools you are given.',
    'Answer from what the tools return; never invent records, fields or numbers. Be concise.',
    'Learn a base before querying it: list_bases, then list_tables for table and field names.',
    baseId
      ? `The user is working in base ${baseId}; use it unless they name another.`
      : 'If you need a base and none is known, call list_bases or ask for the base id (it looks like appXXXXXXXXXXXXXX).',
    policy === 'ask'
      ? 'Tools that change data run only after the user approves each call; call them when the user asks for a change.'
      : policy === 'deny'
        ? 'Changing data is turned off in this chat: describe changes instead of making them.'
        : 'You may change data when the user asks; say what you changed.',
    'When a tool returns an error, read it: it says what to fix.',
  ];
  return lines.join('\n');
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
