/**
 * Airtable's field types and the groups the code reasons about, in one place
 * (tools, client and sandbox all read them from here). Types follow the Web
 * API's field model (shared/reference/airtable-web-api.md §5).
 */

/** Every field type the Web API reports. */
export const FIELD_TYPES = [
  'singleLineText',
  'email',
  'url',
  'multilineText',
  'richText',
  'phoneNumber',
  'number',
  'percent',
  'currency',
  'duration',
  'rating',
  'checkbox',
  'singleSelect',
  'multipleSelects',
  'singleCollaborator',
  'multipleCollaborators',
  'multipleRecordLinks',
  'date',
  'dateTime',
  'multipleAttachments',
  'barcode',
  'formula',
  'rollup',
  'count',
  'lookup',
  'multipleLookupValues',
  'autoNumber',
  'createdTime',
  'lastModifiedTime',
  'createdBy',
  'lastModifiedBy',
  'button',
  'externalSyncSource',
  'aiText',
] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

type TypeSet = ReadonlySet<string>;
const group = (...types: FieldType[]): TypeSet => new Set<string>(types);

/** Types Airtable computes; writes to them are rejected. */
export const COMPUTED_FIELD_TYPES = group(
  'formula',
  'rollup',
  'count',
  'lookup',
  'multipleLookupValues',
  'autoNumber',
  'createdTime',
  'lastModifiedTime',
  'createdBy',
  'lastModifiedBy',
  'button',
  'externalSyncSource',
  'aiText',
);

/** Types whose values are numbers (a checkbox is a boolean, not a number). */
export const NUMBER_FIELD_TYPES = group(
  'number',
  'currency',
  'percent',
  'rating',
  'duration',
  'count',
  'autoNumber',
);

/** Types whose values are plain strings a person typed. */
export const TEXT_FIELD_TYPES = group(
  'singleLineText',
  'multilineText',
  'richText',
  'email',
  'url',
  'phoneNumber',
);

/** Types whose values are ISO dates or date-times. */
export const DATE_FIELD_TYPES = group('date', 'dateTime', 'createdTime', 'lastModifiedTime');

/** Types whose values are lists. */
export const LIST_FIELD_TYPES = group(
  'multipleSelects',
  'multipleRecordLinks',
  'multipleLookupValues',
  'multipleAttachments',
  'multipleCollaborators',
);

/** Computed types whose values take the type in `options.result` (a numeric formula holds numbers). */
export const RESULT_TYPED_FIELD_TYPES = group('formula', 'rollup', 'lookup', 'multipleLookupValues');
