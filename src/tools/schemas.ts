/**
 * Input and output schema pieces shared by tools, so every tool describes
 * base, table, record and field parameters the same way.
 */
import { z } from 'zod';
import { RECORD_ID_PATTERN } from '../airtable/ids.js';

export { RECORD_ID_PATTERN };

/**
 * Guard-rail limits (a name's length, a list's size) are checked with refine,
 * which validates exactly like min/max but is not published in the JSON
 * Schema: tools/list reaches every conversation, and a limit no sensible
 * argument comes near tells a model nothing. Limits a model must plan for
 * (max_records, batch sizes) stay in the schema.
 */
export const nonEmpty = (message: string) => [(v: string) => v.length > 0, message] as const;
export const atMost = (max: number, noun = 'characters') =>
  [(v: { length: number }) => v.length <= max, `must have at most ${max} ${noun}`] as const;

export const baseIdParam = z.string().optional().describe('Base id (app…); default: the configured base.');

export const tableParam = z
  .string()
  .trim()
  .refine(...nonEmpty('must name a table'))
  .refine(...atMost(256))
  .describe('Table name or id.');

export const recordIdParam = z
  .string()
  .trim()
  .regex(RECORD_ID_PATTERN, 'must be a record id like recXXXXXXXXXXXXXX (17 characters)')
  .describe('Record id.');

/** A field name or id inside a list of them. */
export const fieldNameItem = z
  .string()
  .trim()
  .refine(...nonEmpty('must name a field'))
  .refine(...atMost(256));

/** A list of field names or ids, at most `max`; the description says what the list does. */
export function fieldListParam(description: string, max = 500) {
  return z
    .array(fieldNameItem)
    .refine(...atMost(max, 'fields'))
    .optional()
    .describe(description);
}

export const fieldNamesParam = fieldListParam(
  'Only these fields (names or ids); default all. Fewer = smaller result.',
);

export const fieldsObjectParam = z
  .record(z.string(), z.unknown())
  .refine((fields) => Object.keys(fields).length > 0, 'must contain at least one field')
  .describe('Cell values by field name or id, e.g. {"Name":"Acme"}.');

export const typecastParam = z
  .boolean()
  .default(false)
  .describe('Let Airtable convert values (text to numbers, new select options).');

export const formulaParam = z
  .string()
  .refine(...atMost(20_000))
  .optional()
  .describe("Airtable formula keeping records where it is truthy, e.g. {Status}='Done'.");

export const sortParam = z
  .array(
    z.object({
      field: z.string().refine(...nonEmpty('must name a field')),
      direction: z.enum(['asc', 'desc']).default('asc'),
    }),
  )
  .refine(...atMost(20, 'sort keys'))
  .optional()
  .describe('e.g. [{"field":"Due","direction":"desc"}].');

export const recordSchema = z.object({
  id: z.string(),
  createdTime: z.string(),
  fields: z.record(z.string(), z.unknown()),
});

export const failureSchema = z.object({
  index: z.number().int().describe('Position in the input list'),
  id: z.string().optional(),
  error: z.string(),
});

export const viewParam = z
  .string()
  .refine(...nonEmpty('must name a view'))
  .optional()
  .describe('View name or id: its records, in its order.');

/** One description for every paged tool: the result says when there is more and gives the token. */
export const offsetParam = z
  .string()
  .optional()
  .describe('The offset a previous call returned, to continue (same other arguments).');
