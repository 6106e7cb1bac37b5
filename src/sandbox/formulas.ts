/** Compiles formulas through the formula engine, caching per schema version. */
import { invalidFormula } from './errors.js';
import { compileFormula } from './formula/index.js';
import type { TableDef } from './model.js';

export type CompiledFormula = ReturnType<typeof compileFormula>;

const MAX_CACHE = 500;
const cache = new Map<string, CompiledFormula | Error>();

/** Compiled formula for `text` over the table's fields; throws the engine's FormulaError. */
export function compileCached(text: string, table: TableDef, schemaVersion: number): CompiledFormula {
  const key = `${schemaVersion}\u0000${table.id}\u0000${text}`;
  let hit = cache.get(key);
  if (hit === undefined) {
    try {
      hit = compileFormula(text, table.fields);
    } catch (err) {
      hit = err instanceof Error ? err : new Error(String(err));
    }
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(key, hit);
  }
  if (hit instanceof Error) throw hit;
  return hit;
}

/** Like compileCached, but failures become 422 INVALID_FILTER_BY_FORMULA. */
export function compileFilter(text: string, table: TableDef, schemaVersion: number): CompiledFormula {
  try {
    return compileCached(text, table, schemaVersion);
  } catch (err) {
    const detail = isFormulaError(err) ? err.message : 'Invalid formula. Please check your formula text.';
    throw invalidFormula(detail);
  }
}

export function isFormulaError(err: unknown): err is Error & { kind: string } {
  return err instanceof Error && typeof (err as { kind?: unknown }).kind === 'string';
}
