/**
 * The saga module: durable workflows and sagas — multi-step Airtable
 * changes that finish or roll back, run on demand, on cron schedules, from
 * webhooks, file uploads, or an assistant (apply_changes). This file stays
 * light (the CLI reads it at start): the engine and routes load in `create`.
 */
import { defineModule } from '../app/module.js';
import { sagaMigrations } from './migrations.js';
import { sagaSection } from './options.js';

export { sagaSection } from './options.js';
export type { RunStatus } from './types.js';

export default defineModule({
  name: 'saga',
  summary:
    'Workflows and sagas: durable multi-step Airtable changes that finish or roll back (/api/workflows, /api/runs, /api/sagas, /api/files, apply_changes)',
  options: sagaSection.options,
  migrations: sagaMigrations,
  commands: {
    'saga-run': {
      usage: 'saga-run ID [--wait]',
      summary: 'Show a workflow run or saga (status and steps) as JSON',
      needsAirtable: false,
      async run(ctx) {
        const id = ctx.args.find((a) => !a.startsWith('-'));
        if (!id) {
          ctx.stderr.write('usage: saga-run ID\n');
          return 2;
        }
        const app = await ctx.app();
        const saga = app.modules.get('saga')?.api as import('./module.js').SagaModuleApi | undefined;
        if (!saga) {
          ctx.stderr.write('the saga module is not running (--modules saga)\n');
          return 1;
        }
        const { runView } = await import('./service.js');
        const run = await saga.service.repo.getRun(id);
        if (!run) {
          ctx.stderr.write(`no run ${id}\n`);
          return 1;
        }
        ctx.stdout.write(`${JSON.stringify(runView(run, await saga.service.repo.getSteps(id)), null, 2)}\n`);
        return 0;
      },
    },
  },
  async create(ctx) {
    const { createSagaModule } = await import('./module.js');
    return createSagaModule(ctx);
  },
});
