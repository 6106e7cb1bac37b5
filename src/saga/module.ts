/**
 * The saga module once created: the engine, worker and cron scheduler on the
 * shared store, its routes, tools, health check and GDPR hooks. Loaded
 * lazily by index.ts.
 */
import type { Kysely } from 'kysely';
import type { ModuleContext, ModuleInstance } from '../app/module.js';
import { readSection } from '../app/options.js';
import { SagaEngine, tableLookup } from './engine.js';
import { FileStore, fileImporter } from './files.js';
import { sagaSection } from './options.js';
import { SagaRepository } from './repository.js';
import { registerRoutes } from './routes.js';
import { SagaService } from './service.js';
import { AUTOMATION_TOOLSET, sagaTools } from './tools.js';
import type { SagaTables } from './types.js';

export interface SagaModuleApi {
  service: SagaService;
  engine: SagaEngine;
  files: FileStore;
}

export async function createSagaModule(ctx: ModuleContext): Promise<ModuleInstance> {
  const options = readSection(ctx.config, sagaSection);
  const repo = new SagaRepository(ctx.store.db as Kysely<SagaTables>, ctx.store.dialect);
  const schemas = tableLookup(ctx.airtable.schemas);
  const engine = new SagaEngine({
    repo,
    tools: ctx.tools,
    airtable: ctx.airtable,
    logger: ctx.logger,
    options,
    usage: ctx.usage,
    currentPrincipal: (stored) => ctx.principals.current(stored),
    importer: fileImporter(repo, options, schemas, ctx.airtable.defaultBase),
  });
  const service = new SagaService({ repo, engine, options, logger: ctx.logger });
  const files = new FileStore(repo, options);
  let schedule: NodeJS.Timeout | undefined;
  let stopped = false;

  const tickSchedules = async () => {
    try {
      await service.scheduleTick();
    } catch (error) {
      ctx.logger.error({ err: error }, 'cron schedule check failed');
    }
    if (!stopped) schedule = setTimeout(() => void tickSchedules(), options.schedulePollMs);
  };

  const api: SagaModuleApi = { service, engine, files };
  return {
    toolsets: AUTOMATION_TOOLSET,
    tools: sagaTools(service, files),
    routes: (routes) => registerRoutes(routes, service, files),
    health: [
      {
        name: 'saga_store',
        critical: false,
        check: () => repo.ping(),
      },
    ],
    gdpr: {
      async export(userId) {
        const data = await repo.userData(userId);
        return {
          // The stored principals hold scopes and base lists, no secrets; left out as internal.
          workflows: data.workflows.map(({ principal: _p, webhook_hash: _h, ...w }) => w),
          runs: data.runs.map(({ principal: _p, lease_owner: _o, lease_expires_at: _e, ...r }) => r),
          steps: data.steps,
          files: data.files,
        };
      },
      async erase(userId) {
        // Runs still going are cancelled (they undo their Airtable writes) before their records go.
        const active = await repo.activeRunsOf(userId);
        for (const id of active) await engine.cancel(id);
        const until = Date.now() + 30_000;
        while (active.length && Date.now() < until && (await repo.activeRunsOf(userId)).length) {
          await new Promise((r) => setTimeout(r, 200));
        }
        await repo.eraseUser(userId);
      },
    },
    async start() {
      if (!options.worker) {
        ctx.logger.info('saga worker off (--no-saga-worker): runs are executed by other replicas');
        return;
      }
      engine.startWorker();
      void tickSchedules();
    },
    async stop() {
      stopped = true;
      clearTimeout(schedule);
      await engine.stop();
    },
    api,
  };
}
