/**
 * The orchestrator module once created: the Orchestrator built from the
 * module context, its routes, GDPR hooks and metrics. Loaded lazily by
 * index.ts, so the CLI never pays for it unless the module runs.
 */
import { Counter, type Registry } from 'prom-client';
import type { ModuleContext, ModuleInstance } from '../app/module.js';
import { readSection } from '../app/options.js';
import type { UsageEvent, UsageSink } from '../app/usage.js';
import { loadPricing } from './models.js';
import { NO_KEY_HELP, orchestratorSection } from './options.js';
import { Orchestrator } from './orchestrator.js';
import { ChatRepository } from './repository.js';
import { registerRoutes } from './routes.js';
import { engineSettings, geminiSettings } from './settings.js';

/** The Orchestrator for a module context (the server's, or the one a CLI command builds). */
export function orchestratorFor(
  ctx: Pick<ModuleContext, 'config' | 'store' | 'tools' | 'usage' | 'logger' | 'airtable'>,
  usage?: UsageSink,
): Orchestrator {
  const settings = readSection(ctx.config, orchestratorSection);
  return new Orchestrator({
    repo: new ChatRepository(ctx.store.db),
    tools: ctx.tools,
    usage: usage ?? ctx.usage,
    logger: ctx.logger,
    settings: engineSettings(settings),
    gemini: geminiSettings(settings),
    prices: loadPricing(settings.pricing),
    defaultBase: ctx.airtable.defaultBase,
  });
}

export async function createModule(ctx: ModuleContext): Promise<ModuleInstance> {
  const metrics = chatMetrics(ctx.metrics);
  const usage: UsageSink = {
    record: (event) => {
      metrics.observe(event);
      ctx.usage.record(event);
    },
    flush: () => ctx.usage.flush(),
  };
  const orchestrator = orchestratorFor(ctx, usage);
  const repo = new ChatRepository(ctx.store.db);
  if (!orchestrator.configured) ctx.logger.info(`chat is off until GEMINI_API_KEY is set. ${NO_KEY_HELP}`);
  return {
    routes: (api) => registerRoutes(api, orchestrator, ctx.tools),
    gdpr: {
      export: (userId) => exportUser(repo, userId),
      erase: (userId) => repo.eraseUser(userId),
    },
    api: orchestrator,
  };
}

/** Everything the orchestrator keeps about a user: sessions with their raw contents, turns and budgets. */
export async function exportUser(repo: ChatRepository, userId: string): Promise<unknown> {
  const sessions = await repo.sessionsOfUser(userId);
  const out = [];
  for (const session of sessions) {
    const contents = await repo.loadContents(session.id);
    const turns = await repo.listTurns(session.id);
    out.push({
      session_id: session.id,
      title: session.title,
      model: session.model,
      base_id: session.base_id,
      status: session.status,
      created_at: session.created_at,
      updated_at: session.updated_at,
      turns: turns.map((turn) => ({
        turn_id: turn.id,
        message: turn.message,
        response: turn.response,
        status: turn.status,
        tools_used: JSON.parse(turn.tools_used) as string[],
        model: turn.model,
        input_tokens: turn.input_tokens,
        output_tokens: turn.output_tokens,
        thinking_tokens: turn.thinking_tokens,
        cost_usd: turn.cost_usd,
        started_at: turn.started_at,
      })),
      contents: contents.map((stored) => ({
        turn_id: stored.turnId,
        created_at: stored.createdAt,
        ...stored.content,
      })),
    });
  }
  const budgets = (
    await repo.listBudgets({ userSubject: userId, sessionIds: sessions.map((s) => s.id) })
  ).map((row) => ({
    scope: row.scope,
    subject_id: row.subject_id,
    limit_usd: row.limit_usd,
    period: row.period,
    alert_threshold: row.alert_threshold,
  }));
  return { sessions: out, budgets };
}

function chatMetrics(registry: Registry) {
  const turns = new Counter({
    name: 'airtable_mcp_chat_turns_total',
    help: 'Chat turn segments (a turn paused for approval counts once per segment), by model and outcome.',
    labelNames: ['model', 'outcome'],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'airtable_mcp_chat_tokens_total',
    help: 'Gemini tokens used by chat turns, by model and direction (input includes tool-use prompts, output includes thinking).',
    labelNames: ['model', 'direction'],
    registers: [registry],
  });
  const cost = new Counter({
    name: 'airtable_mcp_chat_cost_usd_total',
    help: 'Estimated chat cost in US dollars, from the configurable price table (GEMINI_PRICING).',
    labelNames: ['model'],
    registers: [registry],
  });
  return {
    observe(event: UsageEvent) {
      if (event.kind !== 'chat') return;
      const model = event.model ?? event.name;
      turns.inc({ model, outcome: event.outcome });
      tokens.inc({ model, direction: 'input' }, event.inputTokens ?? 0);
      tokens.inc({ model, direction: 'output' }, event.outputTokens ?? 0);
      cost.inc({ model }, event.costUsd ?? 0);
    },
  };
}
