/**
 * `airtable-mcp-kit chat`: the assistant in the terminal. It streams the
 * answer, shows each tool call and its outcome as it happens, asks y/n
 * before a write, and knows /cost, /history, /new and /quit. `-m "…"`
 * answers once and exits (the answer on stdout, tool activity on stderr).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { HttpProblem } from '../app/api.js';
import type { ModuleCommandContext } from '../app/module.js';
import { readSection } from '../app/options.js';
import { ALL_SCOPES, type Principal } from '../app/principal.js';
import { NO_KEY_HELP, orchestratorSection } from './options.js';
import type { Orchestrator } from './orchestrator.js';
import type { ChatTurn } from './turn.js';
import type { ChatEvent, ChatResult, PendingCall } from './types.js';

/** The person at the terminal runs the server: every scope on every base (writes still ask). */
const OPERATOR: Principal = Object.freeze({
  kind: 'system',
  id: 'cli',
  scopes: ALL_SCOPES,
  bases: '*',
}) as Principal;

interface ChatOptions {
  message?: string;
  session?: string;
  model?: string;
  base?: string;
}

/** Reads lines from stdin one at a time (prompts and y/n answers share it); undefined at end of input. */
class LineReader {
  readonly #lines: AsyncIterator<string>;
  readonly #close: () => void;

  constructor(input: NodeJS.ReadableStream) {
    const rl = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
    this.#lines = rl[Symbol.asyncIterator]();
    this.#close = () => rl.close();
  }

  async next(): Promise<string | undefined> {
    const line = await this.#lines.next();
    return line.done ? undefined : line.value;
  }

  close(): void {
    this.#close();
  }
}

export async function runChatCommand(ctx: ModuleCommandContext): Promise<number> {
  const options = chatOptions(ctx);
  const settings = readSection(ctx.config, orchestratorSection);
  if (!settings.apiKey) {
    ctx.stderr.write(`${NO_KEY_HELP}\n`);
    return 1;
  }
  const app = await ctx.app();
  const instance = app.modules.get('orchestrator');
  const orchestrator =
    (instance?.api as Orchestrator | undefined) ?? (await import('./service.js')).orchestratorFor(app);
  const base = options.base ?? app.airtable.defaultBase;
  const chat = new TerminalChat(orchestrator, ctx, { ...options, base });
  try {
    return options.message !== undefined ? await chat.once(options.message) : await chat.repl();
  } finally {
    chat.close();
  }
}

/** Flags from the config (declared options) or, when the CLI passes them through, from the raw args. */
function chatOptions(ctx: ModuleCommandContext): ChatOptions {
  const section = ctx.config.sections?.orchestrator as { message?: string; session?: string } | undefined;
  const { values } = parseArgs({
    args: [...ctx.args],
    options: {
      message: { type: 'string', short: 'm' },
      session: { type: 'string' },
      model: { type: 'string' },
      base: { type: 'string' },
    },
    strict: false,
    allowPositionals: true,
  });
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    message: str(values.message) ?? section?.message,
    session: str(values.session) ?? section?.session,
    model: str(values.model),
    base: str(values.base),
  };
}

class TerminalChat {
  readonly #lines: LineReader;
  #session: string | undefined;
  #out: NodeJS.WritableStream;
  #activity: NodeJS.WritableStream;

  constructor(
    private readonly orchestrator: Orchestrator,
    private readonly ctx: ModuleCommandContext,
    private readonly options: ChatOptions,
  ) {
    this.#lines = new LineReader(ctx.stdin);
    this.#session = options.session;
    this.#out = ctx.stdout;
    this.#activity = ctx.stdout;
  }

  close(): void {
    this.#lines.close();
  }

  /** One message: the answer on stdout, tool activity on stderr, for scripts. */
  async once(message: string): Promise<number> {
    this.#activity = this.ctx.stderr;
    const result = await this.#turn(message);
    if (result) this.#out.write('\n');
    return result ? 0 : 1;
  }

  async repl(): Promise<number> {
    this.#out.write(
      `Chat with ${this.options.model ?? this.orchestrator.settings.model} (${this.options.base ?? 'no default base'}). Commands: /cost /history /new /quit\n`,
    );
    for (;;) {
      this.#out.write('you> ');
      const line = await this.#lines.next();
      if (line === undefined) {
        this.#out.write('\n');
        return 0;
      }
      const input = line.trim();
      if (!input) continue;
      if (input.startsWith('/')) {
        if (await this.#command(input)) return 0;
        continue;
      }
      this.#out.write('gemini> ');
      const result = await this.#turn(input);
      this.#out.write('\n');
      if (result) this.#out.write(`${footer(result)}\n`);
    }
  }

  /** Returns true to quit. */
  async #command(input: string): Promise<boolean> {
    const [name] = input.split(/\s+/);
    if (name === '/quit' || name === '/exit') return true;
    if (name === '/new') {
      this.#session = undefined;
      this.#out.write('Started a new session.\n');
    } else if (name === '/cost') await this.#cost();
    else if (name === '/history') await this.#history();
    else this.#out.write(`Unknown command ${name}. Commands: /cost /history /new /quit\n`);
    return false;
  }

  async #cost(): Promise<void> {
    if (!this.#session) {
      this.#out.write('No session yet: nothing spent.\n');
      return;
    }
    const sessions = await this.orchestrator.listSessions(OPERATOR);
    const session = sessions.find((s) => s.session_id === this.#session);
    this.#out.write(
      `Session ${this.#session}: ${session?.turns ?? 0} turns, about $${(session?.cost_usd ?? 0).toFixed(6)} (estimate).\n`,
    );
  }

  async #history(): Promise<void> {
    if (!this.#session) {
      this.#out.write('No messages yet.\n');
      return;
    }
    const { history } = (await this.orchestrator.history(OPERATOR, this.#session)) as {
      history: { role: string; message: string; tools_used?: string[] }[];
    };
    for (const entry of history) {
      const tools = entry.tools_used?.length ? ` [${entry.tools_used.join(', ')}]` : '';
      this.#out.write(`${entry.role === 'user' ? 'you' : 'gemini'}> ${entry.message}${tools}\n`);
    }
  }

  /** Runs a turn to its end, asking for approvals on the way; undefined when it failed (already reported). */
  async #turn(message: string): Promise<ChatResult | undefined> {
    let turn = this.orchestrator.send({
      principal: OPERATOR,
      message,
      sessionId: this.#session,
      baseId: this.options.base,
      model: this.options.model,
      stream: true,
      source: 'cli',
    });
    for (;;) {
      const result = await this.#show(turn);
      if (!result) return undefined;
      this.#session = result.session_id;
      if (result.status !== 'approval_required') return result;
      const decisions = [];
      for (const pending of result.pending ?? [])
        decisions.push({ callId: pending.call_id, approve: await this.#ask(pending) });
      turn = this.orchestrator.decide({
        principal: OPERATOR,
        sessionId: result.session_id,
        decisions,
        stream: true,
        source: 'cli',
      });
    }
  }

  async #show(turn: ChatTurn): Promise<ChatResult | undefined> {
    for await (const event of turn) this.#render(event);
    try {
      return await turn.result;
    } catch (error) {
      const detail = error instanceof HttpProblem ? (error.detail ?? error.title) : String(error);
      this.ctx.stderr.write(`\nerror: ${detail}\n`);
      return undefined;
    }
  }

  #render(event: ChatEvent): void {
    if (event.type === 'text') this.#out.write(event.text);
    else if (event.type === 'tool_call')
      this.#activity.write(`\n  → ${event.name} ${compact(event.arguments)}\n`);
    else if (event.type === 'tool_result') {
      const mark = event.ok ? '✓' : '✗';
      const why = event.ok ? '' : ` (${event.outcome}): ${event.preview.slice(0, 120)}`;
      this.#activity.write(`  ${mark} ${event.name} ${event.duration_ms} ms${why}\n`);
    } else if (event.type === 'warning') this.#activity.write(`  ! ${event.message}\n`);
  }

  /** y/n for one write; anything but y (or the end of input) is a no. */
  async #ask(pending: PendingCall): Promise<boolean> {
    this.#activity.write(`\n  ? ${pending.summary}\n    ${compact(pending.arguments)}\n  Allow? [y/N] `);
    const answer = (await this.#lines.next())?.trim().toLowerCase();
    const yes = answer === 'y' || answer === 'yes';
    this.#activity.write(yes ? '  approved\n' : '  rejected\n');
    return yes;
  }
}

function footer(result: ChatResult): string {
  const tokens = result.usage.input_tokens + result.usage.output_tokens + result.usage.thinking_tokens;
  const cost = result.cost.priced
    ? `~$${result.cost.total_usd.toFixed(6)}`
    : 'cost unknown (no price for this model)';
  const warnings = result.warnings.length ? ` · ${result.warnings.length} warning(s)` : '';
  return `  [${tokens} tokens, ${cost}, ${result.usage.hops} model call(s)${warnings}]`;
}

function compact(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
