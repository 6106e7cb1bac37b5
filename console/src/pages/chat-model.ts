/**
 * The chat's state, built from the orchestrator's answers: a JSON body, a
 * stream of server-sent events, or a stored history. Field names follow
 * issue 10's shapes; readers are tolerant of the variants listed.
 */

export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
  result?: unknown;
  ok?: boolean;
  durationMs?: number;
  /** Waiting for the person's approval (a write under CHAT_WRITE_POLICY=ask). */
  pending?: boolean;
  /** What the write will change, as the server describes it. */
  change?: string;
  decision?: 'approved' | 'rejected';
}

export interface Turn {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  tools: ToolCall[];
  status?: 'streaming' | 'done' | 'approval_required' | 'error';
  error?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  model?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (...values: unknown[]) => values.find((v): v is number => typeof v === 'number');
const str = (...values: unknown[]) => values.find((v): v is string => typeof v === 'string');

export function callFrom(raw: unknown): ToolCall {
  const c = isObject(raw) ? raw : {};
  return {
    id:
      str(c.call_id, c.id) ??
      `${str(c.name, c.tool, c.tool_name) ?? 'tool'}-${Math.random().toString(36).slice(2)}`,
    name: str(c.name, c.tool, c.tool_name) ?? 'tool',
    arguments: c.arguments ?? c.args ?? {},
    ...(c.result !== undefined || c.output !== undefined || c.preview !== undefined
      ? { result: c.result ?? c.output ?? c.preview }
      : {}),
    ...(typeof c.ok === 'boolean'
      ? { ok: c.ok }
      : typeof c.is_error === 'boolean'
        ? { ok: !c.is_error }
        : {}),
    ...(num(c.duration_ms) !== undefined ? { durationMs: num(c.duration_ms) } : {}),
    ...(str(c.change, c.description, c.summary) ? { change: str(c.change, c.description, c.summary) } : {}),
  };
}

/** Merge what is known about a call into the turn's list (matched by id, else by name while unresolved). */
export function upsertCall(tools: ToolCall[], update: ToolCall): ToolCall[] {
  const index = tools.findIndex((t) => t.id === update.id);
  if (index === -1) return [...tools, update];
  const next = [...tools];
  next[index] = { ...tools[index]!, ...update };
  return next;
}

export function applyUsage(turn: Turn, body: Json): Turn {
  const usage = isObject(body.usage) ? body.usage : body;
  const cost = body.cost;
  return {
    ...turn,
    inputTokens:
      num(usage.input_tokens, usage.prompt_tokens, usage.prompt_token_count, usage.promptTokenCount) ??
      turn.inputTokens,
    outputTokens:
      num(
        usage.output_tokens,
        usage.completion_tokens,
        usage.candidates_token_count,
        usage.candidatesTokenCount,
      ) ?? turn.outputTokens,
    costUsd:
      num(
        cost,
        isObject(cost) ? cost.total_usd : undefined,
        isObject(cost) ? cost.usd : undefined,
        body.cost_usd,
      ) ?? turn.costUsd,
    model: str(body.model) ?? turn.model,
  };
}

/** The final answer (JSON or the stream's last event): authoritative for text, calls and pending approvals. */
export function applyFinal(turn: Turn, body: Json): Turn {
  let tools = turn.tools;
  for (const raw of Array.isArray(body.tool_calls) ? body.tool_calls : [])
    tools = upsertCall(tools, callFrom(raw));
  const pending = Array.isArray(body.pending) ? body.pending : [];
  for (const raw of pending) tools = upsertCall(tools, { ...callFrom(raw), pending: true });
  const status = body.status === 'approval_required' ? 'approval_required' : 'done';
  if (status === 'done') tools = tools.map((t) => (t.pending ? { ...t, pending: false } : t));
  const text = str(body.response, body.text);
  return applyUsage({ ...turn, text: text ?? turn.text, tools, status }, body);
}

/** One server-sent event applied to the assistant's turn being streamed. */
export function applyEvent(turn: Turn, event: string, data: unknown): Turn {
  const body = isObject(data) ? data : {};
  switch (event) {
    case 'text':
    case 'delta':
    case 'text_delta':
    case 'content':
      return {
        ...turn,
        text: turn.text + (typeof data === 'string' ? data : (str(body.delta, body.text) ?? '')),
      };
    case 'tool_call':
    case 'tool_start':
      return { ...turn, tools: upsertCall(turn.tools, callFrom(isObject(body.call) ? body.call : body)) };
    case 'tool_result':
    case 'tool_end':
      return { ...turn, tools: upsertCall(turn.tools, callFrom(isObject(body.call) ? body.call : body)) };
    case 'approval_required':
    case 'approval':
    case 'approval_request': {
      const list = Array.isArray(body.pending) ? body.pending : [body];
      let tools = turn.tools;
      for (const raw of list) tools = upsertCall(tools, { ...callFrom(raw), pending: true });
      return { ...turn, tools, status: 'approval_required' };
    }
    case 'usage':
      return applyUsage(turn, body);
    case 'done':
    case 'final':
    case 'result':
    case 'end':
      return applyFinal(turn, isObject(body.result) ? body.result : body);
    case 'error':
      return {
        ...turn,
        status: 'error',
        error: str(body.detail, body.message, body.title, data) ?? 'The turn failed',
      };
    default:
      return turn;
  }
}

/** Earlier sessions' stored history: `{messages: [{role, content}]}` or raw Gemini contents with parts. */
export function turnsFromHistory(history: unknown): Turn[] {
  const h = isObject(history) ? history : {};
  const list = Array.isArray(history)
    ? history
    : (((Array.isArray(h.messages)
        ? h.messages
        : Array.isArray(h.history)
          ? h.history
          : h.contents) as unknown[]) ?? []);
  const turns: Turn[] = [];
  let id = 0;
  for (const raw of Array.isArray(list) ? list : []) {
    if (!isObject(raw)) continue;
    const role = raw.role === 'user' ? 'user' : 'assistant';
    const parts = Array.isArray(raw.parts) ? (raw.parts as Json[]) : [];
    const text =
      str(raw.content, raw.text, raw.message) ??
      parts
        .filter((p) => typeof p.text === 'string' && !p.thought)
        .map((p) => p.text)
        .join('');
    const calls = parts.filter((p) => isObject(p.functionCall)).map((p) => callFrom(p.functionCall));
    const results = parts.filter((p) => isObject(p.functionResponse)).map((p) => p.functionResponse as Json);
    const last = turns[turns.length - 1];
    if (results.length && last?.role === 'assistant') {
      // Tool results come back in a 'user' content in Gemini's format: they belong to the model's calls.
      for (const r of results) {
        const match = last.tools.find((t) => t.name === r.name && t.result === undefined);
        if (match) match.result = r.response;
      }
      if (!text) continue;
    }
    // The orchestrator's history names the tools a turn used (`tools_used`); full calls are in `tool_calls`.
    const extra = Array.isArray(raw.tool_calls)
      ? raw.tool_calls.map(callFrom)
      : Array.isArray(raw.tools_used)
        ? raw.tools_used.map((name) => ({ ...callFrom({ name }), ok: true }))
        : [];
    if (role === 'assistant' && last?.role === 'assistant' && !last.text) {
      last.text = text;
      last.tools.push(...calls, ...extra);
      continue;
    }
    if (!text && !calls.length && !extra.length) continue;
    turns.push({
      id: id++,
      role,
      text,
      tools: [...calls, ...extra],
      status: 'done',
      ...(num(raw.cost) !== undefined ? { costUsd: num(raw.cost) } : {}),
      ...(str(raw.model_used) ? { model: str(raw.model_used) } : {}),
    });
  }
  return turns;
}
