import type { Migration } from 'kysely';
import type { StoreDialect } from '../types.js';
import { initialSchema } from './001-initial.js';
import { usageDetails } from './002-usage-details.js';

/**
 * Every migration, keyed by name; Kysely applies them in name order, so names
 * start with a zero-padded number. Listed here rather than discovered on disk
 * because the package is bundled (tsup) and has no migrations folder at run time.
 * Never edit or rename an applied migration: add a new one.
 */
export function buildMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '001_initial': initialSchema(dialect),
    '002_usage_details': usageDetails(),
  };
}
