/**
 * Input and output schema pieces shared by tools, so every tool describes
 * base, table, record and field parameters the same way.
 */
import { z } from 'zod';
import { RECORD_ID_PATTERN } from '../airtable/ids.js';

export { RECORD_ID_PATTERN };

export const baseIdParam = z
  .string()
  .optional()
  .describe('Base id (appXXXXXXXXXXXXXX). May be omitted when a default base is configured.');

export const tableParam = z
  .string()
  .trim()
  .min(1, 'must name a table')
  .max(256)
  .describe('Table name or id (tblXXXXXXXXXXXXXX).');

export const recordIdParam = z
  .string()
  .trim()
  .regex(RECORD_ID_PATTERN, 'must be a record id like recXXXXXXXXXXXXXX (17 characters)')
  .describe('Record id (recXXXXXXXXXXXXXX).');

export const fieldNamesParam = z
  .array(z.string().trim().min(1).max(256))
  .max(500)
  .optional()
  .describe(
    'Field names or ids to include; omit for all fields. Asking only for needed fields keeps results small.',
  );

export const fieldsObjectParam = z
  .record(z.string(), z.unknown())
  .refine((fields) => Object.keys(fields).length > 0, 'must contain at least one field')
  .describe('Cell values by field name or id, e.g. {"Name": "Acme", "Status": "Active"}.');

export const typecastParam = z
  .boolean()
  .default(false)
  .describe('Let Airtable convert values (e.g. strings to numbers, new select options). Default false.');

export const formulaParam = z
  .string()
  .max(20_000)
  .optional()
  .describe("Airtable formula; records for which it is truthy are returned, e.g. {Status}='Done'.");

export const sortParam = z
  .array(
    z.object({
      field: z.string().min(1).describe('Field name or id'),
      direction: z.enum(['asc', 'desc']).default('asc'),
    }),
  )
  .max(20)
  .optional()
  .describe('Sort order, e.g. [{"field":"Due","direction":"asc"}].');

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
