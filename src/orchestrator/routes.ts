/**
 * The orchestrator's HTTP API under /api, with the original gateway's
 * paths and snake_case fields so its clients keep working: /chat (JSON or
 * server-sent events), /sessions…, approvals, /tools, /execute-tool,
 * /models and /budgets….
 */
import type { Response } from 'express';
import { z } from 'zod';
import { type ApiRequest, type ApiRoutes, HttpProblem } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { ToolRuntime } from '../app/runtime.js';
import type { Orchestrator } from './orchestrator.js';
import type { BudgetScope } from './repository.js';
import type { ChatTurn } from './turn.js';
import type { ChatEvent } from './types.js';

const BASE_ID = /^app[A-Za-z0-9]{14}$/;
const MODEL_ID = /^[A-Za-z0-9._-]{1,100}$/;
const KEEPALIVE_MS = 15_000;

const ChatBody = z
  .object({
    message: z.string().max(100_000).optional().describe('The person’s message'),
    messages: z
      .array(
        z.object({
          role: z.enum(['user', 'assistant', 'model', 'system']),
          content: z.string().max(100_000),
        }),
      )
      .max(500)
      .optional()
      .describe(
        'The original gateway’s form: the last user message is sent, earlier ones seed a new session',
      ),
    session_id: z.string().min(1).max(128).optional(),
    base_id: z.string().regex(BASE_ID, 'must be a base id like appXXXXXXXXXXXXXX').optional(),
    model: z.string().regex(MODEL_ID, 'must be a model id like gemini-3.8-flash').optional(),
    thinking_budget: z.number().int().min(-1).max(32_768).optional(),
    thinking_level: z.enum(['MINIMAL', 'LOW', 'MEDIUM', 'HIGH']).optional(),
    stream: z
      .boolean()
      .optional()
      .describe('Answer with server-sent events (also with Accept: text/event-stream)'),
  })
  .refine(
    (body) => body.message?.trim() || body.messages?.some((m) => m.role === 'user' && m.content.trim()),
    {
      message: 'send a non-empty message, or messages with a user message',
      path: ['message'],
    },
  );

const ApprovalBody = z
  .object({
    call_id: z.string().min(1).optional(),
    approve: z.boolean().optional(),
    decisions: z
      .array(z.object({ call_id: z.string().min(1), approve: z.boolean() }))
      .max(100)
      .optional(),
    stream: z.boolean().optional(),
  })
  .refine((body) => (body.call_id !== undefined && body.approve !== undefined) || body.decisions?.length, {
    message: 'send {call_id, approve} or {decisions: [{call_id, approve}]}',
    path: ['call_id'],
  });

const BudgetBody = z
  .object({
    limit_usd: z.number().positive().max(1_000_000).optional(),
    budget_limit: z
      .number()
      .positive()
      .max(1_000_000)
      .optional()
      .describe('The original system’s name for limit_usd'),
    period: z.enum(['session', 'daily', 'weekly', 'monthly']).optional(),
    reset_period: z.enum(['session', 'daily', 'weekly', 'monthly']).optional().describe('Alias of period'),
    alert_threshold: z.number().min(0).max(1).optional(),
  })
  .refine((body) => body.limit_usd !== undefined || body.budget_limit !== undefined, {
    message: 'limit_usd is required (a positive number of US dollars)',
    path: ['limit_usd'],
  });

const SessionParams = z.object({ id: z.string().min(1).max(128) });
const BudgetParams = z.object({ scope: z.enum(['user', 'session']), id: z.string().min(1).max(128) });

export function registerRoutes(api: ApiRoutes, orchestrator: Orchestrator, tools: ToolRuntime): void {
  api.route({
    method: 'post',
    path: '/chat',
    summary: 'Ask the assistant; it answers using the Airtable tools (JSON, or SSE when streaming)',
    scopes: ['chat'],
    body: ChatBody,
    produces: ['text/event-stream'],
    errors: [403, 404, 409, 429, 502, 503, 504],
    handler: async (request) => {
      const { body } = request;
      const { message, earlier } = messageOf(body);
      const stream = wantsStream(request, body.stream);
      const turn = orchestrator.send({
        principal: request.principal,
        message,
        earlier,
        sessionId: body.session_id,
        baseId: body.base_id,
        model: body.model,
        thinkingBudget: body.thinking_budget,
        thinkingLevel: body.thinking_level,
        stream,
        signal: request.signal,
        source: 'api',
      });
      return stream ? streamTurn(turn, request.res) : turn.result;
    },
  });

  api.route({
    method: 'post',
    path: '/sessions/:id/approvals',
    summary: 'Approve or reject pending writing tool calls; the turn continues once all are decided',
    scopes: ['chat'],
    params: SessionParams,
    body: ApprovalBody,
    produces: ['text/event-stream'],
    errors: [404, 409, 429, 502, 503, 504],
    handler: async (request) => {
      const { body } = request;
      const decisions = body.decisions?.map((d) => ({ callId: d.call_id, approve: d.approve })) ?? [
        { callId: body.call_id!, approve: body.approve! },
      ];
      const stream = wantsStream(request, body.stream);
      const turn = orchestrator.decide({
        principal: request.principal,
        sessionId: request.params.id,
        decisions,
        stream,
        signal: request.signal,
        source: 'api',
      });
      return stream ? streamTurn(turn, request.res) : turn.result;
    },
  });

  api.route({
    method: 'get',
    path: '/sessions',
    summary: 'Your chat sessions, newest first',
    scopes: ['chat'],
    handler: async ({ principal }) => ({ sessions: await orchestrator.listSessions(principal) }),
  });

  api.route({
    method: 'get',
    path: '/sessions/:id/history',
    summary: 'A session’s conversation (raw=true adds every stored content, thought signatures included)',
    scopes: ['chat'],
    params: SessionParams,
    query: z.object({ raw: z.enum(['true', 'false', '1', '0']).optional() }),
    errors: [404],
    handler: ({ principal, params, query }) =>
      orchestrator.history(principal, params.id, query.raw === 'true' || query.raw === '1'),
  });

  api.route({
    method: 'delete',
    path: '/sessions/:id',
    summary: 'Delete a session and its history',
    scopes: ['chat'],
    params: SessionParams,
    errors: [404],
    handler: async ({ principal, params }) => {
      await orchestrator.deleteSession(principal, params.id);
      return { message: `Session ${params.id} cleared`, session_id: params.id };
    },
  });

  api.route({
    method: 'get',
    path: '/tools',
    summary: 'The tools you may use (MCP definitions)',
    scopes: ['tools:read'],
    handler: ({ principal }) => ({ tools: toolDefinitions(tools, principal) }),
  });

  api.route({
    method: 'post',
    path: '/execute-tool',
    summary: 'Run one tool with your permissions',
    scopes: ['tools:read'],
    body: z.object({
      tool_name: z.string().min(1).max(100),
      arguments: z.record(z.string(), z.unknown()).default({}),
    }),
    errors: [403, 404],
    handler: async ({ principal, body, signal }) => {
      if (!tools.get(body.tool_name)) {
        throw new HttpProblem(
          404,
          'Not Found',
          `No tool named ${body.tool_name}; GET /api/tools lists them.`,
        );
      }
      const outcome = await tools.call(body.tool_name, body.arguments, { principal, source: 'api', signal });
      // A base or tool this principal may not use is the caller's permission problem, not a tool result.
      if (outcome.outcome === 'denied') {
        throw new HttpProblem(403, 'Forbidden', outcome.text, {
          members: { tool: body.tool_name, is_error: true, outcome: 'denied' },
        });
      }
      return {
        tool: body.tool_name,
        result: outcome.structured ?? outcome.text,
        text: outcome.text,
        is_error: outcome.isError,
        outcome: outcome.outcome,
        duration_ms: Math.round(outcome.durationMs),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/models',
    summary: 'Gemini models: the default, prices (estimates) and thinking options',
    auth: 'optional',
    handler: () => ({ ...orchestrator.models(), configured: orchestrator.configured }),
  });

  api.route({
    method: 'get',
    path: '/budgets',
    summary: 'Your budgets (admins: all), with what was spent',
    scopes: ['chat'],
    handler: async ({ principal }) => ({ budgets: await orchestrator.listBudgets(principal) }),
  });

  api.route({
    method: 'get',
    path: '/budgets/:scope/:id',
    summary: 'A user budget (id "me" for yours) or a session budget',
    scopes: ['chat'],
    params: BudgetParams,
    errors: [404],
    handler: ({ principal, params }) =>
      orchestrator.getBudget(principal, params.scope as BudgetScope, params.id),
  });

  api.route({
    method: 'put',
    path: '/budgets/:scope/:id',
    summary: 'Set a budget: limit_usd, period (session|daily|weekly|monthly), alert_threshold (0-1)',
    scopes: ['chat'],
    params: BudgetParams,
    body: BudgetBody,
    errors: [404],
    handler: ({ principal, params, body }) =>
      orchestrator.putBudget(principal, params.scope as BudgetScope, params.id, {
        limitUsd: (body.limit_usd ?? body.budget_limit)!,
        period: body.period ?? body.reset_period,
        alertThreshold: body.alert_threshold,
      }),
  });

  api.route({
    method: 'delete',
    path: '/budgets/:scope/:id',
    summary: 'Remove a budget',
    scopes: ['chat'],
    params: BudgetParams,
    errors: [404],
    handler: async ({ principal, params }) => {
      await orchestrator.deleteBudget(principal, params.scope as BudgetScope, params.id);
      return { message: `${params.scope} budget for ${params.id} removed` };
    },
  });
}

/** The new message, and earlier ones (the original gateway's `messages`) for a new session. */
function messageOf(body: z.output<typeof ChatBody>) {
  if (body.message?.trim()) return { message: body.message, earlier: undefined };
  const messages = (body.messages ?? []).filter((m) => m.role !== 'system');
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  return {
    message: messages[lastUser]!.content,
    earlier: messages
      .slice(0, lastUser)
      .map((m) => ({ role: m.role === 'user' ? ('user' as const) : ('model' as const), text: m.content })),
  };
}

function wantsStream(request: ApiRequest<unknown, unknown, unknown>, flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  return String(request.req.headers.accept ?? '').includes('text/event-stream');
}

/**
 * Sends a turn as server-sent events. Problems found before the turn starts
 * (no key, budget, permissions, a busy session) are thrown, so they are
 * answered as plain problem+json with their status.
 */
async function streamTurn(turn: ChatTurn, res: Response): Promise<undefined> {
  const events = turn[Symbol.asyncIterator]();
  const first = await events.next();
  if (first.done || first.value.type === 'error') {
    await turn.result;
    return undefined;
  }
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  try {
    writeEvent(res, first.value);
    for (let next = await events.next(); !next.done; next = await events.next()) writeEvent(res, next.value);
  } finally {
    clearInterval(keepalive);
    res.end();
  }
  return undefined;
}

function writeEvent(res: Response, event: ChatEvent): void {
  const { type, ...data } = event;
  const payload = type === 'done' ? (event as { result: unknown }).result : data;
  res.write(`event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`);
}

function toolDefinitions(tools: ToolRuntime, principal: Principal) {
  return tools.list(principal).map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    toolset: tool.toolset,
    kind: tool.kind,
    input_schema: z.toJSONSchema(tool.inputSchema, { io: 'input', unrepresentable: 'any' }),
    annotations: {
      read_only: tool.kind === 'read',
      destructive: tool.kind === 'destructive',
      idempotent: tool.kind === 'read' || tool.idempotent === true,
    },
  }));
}
