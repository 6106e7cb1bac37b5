/**
 * The orchestrator module: a Gemini assistant that works on Airtable
 * through the tools, over HTTP (/api/chat…) and in the terminal (`chat`).
 * This file stays light (the CLI reads it at start): the engine, the SDK
 * and the routes load inside `create` and the command's `run`.
 */
import { defineModule } from '../app/module.js';
import { orchestratorMigrations } from './migrations.js';
import { orchestratorSection } from './options.js';

export { type CreateOrchestratorOptions, createOrchestrator, type EmbeddedOrchestrator } from './library.js';
export { DEFAULT_MODEL, NO_KEY_HELP, orchestratorSection } from './options.js';
export type { ChatEvent, ChatResult, PendingCall, ToolCallSummary } from './types.js';

export default defineModule({
  name: 'orchestrator',
  summary:
    'Gemini chat over the Airtable tools: /api/chat, sessions, approvals, budgets, and the chat command',
  options: orchestratorSection.options,
  migrations: orchestratorMigrations,
  commands: {
    chat: {
      usage: 'chat [--sandbox] [--base app…] [--model ID] [--session ID] [-m "message"]',
      summary: 'Chat with Gemini about your bases in the terminal (-m answers once and exits)',
      async run(ctx) {
        const { runChatCommand } = await import('./cli.js');
        return runChatCommand(ctx);
      },
    },
  },
  async create(ctx) {
    const { createModule } = await import('./service.js');
    return createModule(ctx);
  },
});
