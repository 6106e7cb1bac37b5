/**
 * The shape of Airtable ids, in one place: a three-letter prefix for the kind
 * of object, then 14 letters or digits (`appAbCdEf12345678`). The client
 * checks ids with these before building a path, the tools in their input
 * schemas, the config for the default base, the sandbox for what it accepts.
 */

/** The 14 characters after the prefix, as a regular-expression source. */
export const ID_BODY = '[A-Za-z0-9]{14}';

const idPattern = (prefix: string) => new RegExp(`^${prefix}${ID_BODY}$`);

export const BASE_ID_PATTERN = idPattern('app');
export const TABLE_ID_PATTERN = idPattern('tbl');
export const FIELD_ID_PATTERN = idPattern('fld');
export const RECORD_ID_PATTERN = idPattern('rec');
export const COMMENT_ID_PATTERN = idPattern('com');

/** Ids by kind, for checks that name the kind in their message. */
export const ID_PATTERNS = {
  base: BASE_ID_PATTERN,
  record: RECORD_ID_PATTERN,
  comment: COMMENT_ID_PATTERN,
  field: FIELD_ID_PATTERN,
} as const;

/** A pattern for an id with any prefix (the sandbox also issues tbl, viw, usr, att, sel and itr ids). */
export function idPatternFor(prefix: string): RegExp {
  return idPattern(prefix);
}
