/**
 * Every module the package ships, in start order. Each entry is the module's
 * light definition (options, commands, migrations); its heavy code loads
 * only when the module is created. Add a module: one line here.
 */
import consoleModule from '../console/index.js';
import orchestratorModule from '../orchestrator/index.js';
import platformModule from '../platform/index.js';
import sagaModule from '../saga/index.js';
import type { ModuleDefinition, RunMode } from './module.js';

export const MODULES: readonly ModuleDefinition[] = [
  consoleModule,
  platformModule,
  orchestratorModule,
  sagaModule,
];

/** Migrations of every known module, named '<module>/<name>' (all are applied, so enabling one later needs no migrate). */
export function moduleMigrations(modules: readonly ModuleDefinition[] = MODULES) {
  return (dialect: 'sqlite' | 'postgres') => {
    const all: Record<string, import('kysely').Migration> = {};
    for (const module of modules) {
      for (const [name, migration] of Object.entries(module.migrations?.(dialect) ?? {})) {
        all[`${module.name}/${name}`] = migration;
      }
    }
    return all;
  };
}

export class ModuleSelectionError extends Error {
  override name = 'ModuleSelectionError';
}

/**
 * The modules to run. Asked for by name (--modules a,b or 'all'): each must
 * exist and have its requirements met. Not asked for: in HTTP mode every module whose
 * requirements are met, in stdio mode none.
 */
export function selectModules(
  asked: readonly string[] | undefined,
  mode: RunMode,
  check: (module: ModuleDefinition) => string | undefined,
  modules: readonly ModuleDefinition[] = MODULES,
): ModuleDefinition[] {
  if (asked === undefined) return mode === 'http' ? modules.filter((m) => check(m) === undefined) : [];
  if (asked.length === 1 && asked[0] === 'none') return [];
  const names = asked.length === 1 && asked[0] === 'all' ? modules.map((m) => m.name) : asked;
  return names.map((name) => {
    const module = modules.find((m) => m.name === name);
    if (!module) {
      const known = modules.map((m) => m.name).join(', ');
      throw new ModuleSelectionError(`unknown module "${name}"; choose from ${known}, all or none`);
    }
    const unmet = check(module);
    if (unmet) throw new ModuleSelectionError(`module "${name}" cannot run: ${unmet}`);
    return module;
  });
}
