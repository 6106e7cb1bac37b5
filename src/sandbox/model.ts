/**
 * The sandbox's data model: what a base, table, field, view and record are
 * inside the Airtable-compatible sandbox. Shapes follow Airtable's metadata
 * API (see shared/reference/airtable-web-api.md §5) so schema responses are a
 * plain projection of these objects.
 */

import { type FieldType as AirtableFieldType, FIELD_TYPES } from '../airtable/field-types.js';

/** Airtable field types the sandbox does not implement; a definition using one is rejected. */
const UNSUPPORTED_TYPES = ['lookup', 'externalSyncSource', 'aiText'] as const;

export type FieldType = Exclude<AirtableFieldType, (typeof UNSUPPORTED_TYPES)[number]>;

/** The field types the sandbox implements. */
export const SANDBOX_FIELD_TYPES: ReadonlySet<FieldType> = new Set(
  FIELD_TYPES.filter((t): t is FieldType => !(UNSUPPORTED_TYPES as readonly string[]).includes(t)),
);

/** Field types whose values Airtable computes; writes to them are rejected. */
export { COMPUTED_FIELD_TYPES } from '../airtable/field-types.js';

export interface SelectChoice {
  id: string;
  name: string;
  color?: string;
}

export interface FieldDef {
  id: string;
  name: string;
  type: FieldType;
  description?: string;
  /** Airtable's documented options for the type (choices, precision, linkedTableId, formula, ...). */
  options?: Record<string, unknown>;
}

export interface ViewDef {
  id: string;
  name: string;
  type: 'grid' | 'form' | 'calendar' | 'gallery' | 'kanban' | 'timeline' | 'block';
  /** Sandbox-only: a filterByFormula that decides which records the view shows. */
  filterFormula?: string;
  /** Sandbox-only: the view's record order. */
  sort?: Array<{ field: string; direction: 'asc' | 'desc' }>;
}

export interface TableDef {
  id: string;
  name: string;
  description?: string;
  primaryFieldId: string;
  fields: FieldDef[];
  views: ViewDef[];
}

export interface BaseDef {
  id: string;
  name: string;
  permissionLevel: 'none' | 'read' | 'comment' | 'edit' | 'create';
  tables: TableDef[];
}

/** A stored record. Cell values are keyed by field id, in Airtable's JSON cell format. */
export interface RecordRow {
  id: string;
  createdTime: string;
  fields: Record<string, unknown>;
}

export interface CommentRow {
  id: string;
  recordId: string;
  author: { id: string; email: string; name: string };
  text: string;
  createdTime: string;
  lastUpdatedTime: string | null;
  parentCommentId?: string;
}

/** A complete base with its records and comments: the unit a seed produces. */
export interface SeedBase {
  base: BaseDef;
  /** Records per table id, each row's `fields` keyed by field id. */
  records: Record<string, RecordRow[]>;
  comments?: CommentRow[];
}
