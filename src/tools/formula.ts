/**
 * Building Airtable formulas from untrusted text (a model's or a user's).
 * String literals are the only injection surface, so every value goes through
 * `quoteFormulaString`, and fields are referenced by id, never by name.
 */
import { FIELD_ID_PATTERN } from '../airtable/ids.js';
import type { FieldSchema } from '../airtable/types.js';

/**
 * A double-quoted formula string literal: `\` escaped first, then `"`, so no
 * input can close the literal early. Same rule as the sandbox's
 * quoteFormulaString (src/sandbox/formula), kept separate because tools must
 * not depend on the sandbox.
 */
export function quoteFormulaString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * `{fldXXXXXXXXXXXXXX}`: by id, because a field name may contain `}` and
 * Airtable has no escape for it.
 */
export function fieldRef(field: Pick<FieldSchema, 'id'>): string {
  if (!FIELD_ID_PATTERN.test(field.id))
    throw new Error(`Refusing to reference field id ${JSON.stringify(field.id)}`);
  return `{${field.id}}`;
}
