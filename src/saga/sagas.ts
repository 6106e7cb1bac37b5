/**
 * Built-in saga types: each turns its input into a plan of steps. The
 * original had user_onboarding and airtable_integration; here:
 * airtable_integration (check access, read the schema, create or refresh the
 * metadata table, optionally sync a table), linked_records (a parent and its
 * linked children across tables, all or nothing) and apply_changes (an
 * ordered list of creates, updates and deletes in one base, as one saga).
 */

import { z } from 'zod';
import { BASE_ID_PATTERN } from '../airtable/ids.js';
import type { Plan, StepDef } from './types.js';

const baseId = z
  .string()
  .regex(BASE_ID_PATTERN, 'must be a base id like appXXXXXXXXXXXXXX')
  .optional()
  .describe('Default: the server’s default base.');
const fields = z.record(z.string(), z.unknown());

export const linkedRecordsInput = z.object({
  base_id: baseId,
  parent: z.object({ table: z.string().min(1), fields }),
  children: z
    .array(
      z.object({
        table: z.string().min(1),
        link_field: z.string().min(1).describe('The child’s link field that points at the parent.'),
        fields,
      }),
    )
    .min(1)
    .max(10_000),
  typecast: z.boolean().default(false),
});

export const changeSchema = z.object({
  op: z.enum(['create', 'update', 'delete']),
  table: z.string().min(1).describe('Table name or id.'),
  ref: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional()
    .describe(
      'create: a name for the new record; later changes use {"$ref": name} for its id (also in link fields).',
    ),
  id: z
    .union([z.string(), z.object({ $ref: z.string() }).strict()])
    .optional()
    .describe('update/delete: the record id, or {"$ref": name} of a record created earlier in the list.'),
  fields: fields.optional().describe('create/update: cell values by field name.'),
});

export const applyChangesInput = z.object({
  base_id: baseId,
  changes: z.array(changeSchema).min(1).max(1000),
  typecast: z.boolean().default(false),
});

export const integrationInput = z.object({
  base_id: z.string().regex(BASE_ID_PATTERN, 'must be a base id like appXXXXXXXXXXXXXX'),
  metadata_table: z
    .string()
    .min(1)
    .optional()
    .describe('Name of the metadata table to create or refresh; default "Table Metadata".'),
  sync: z
    .object({
      source_table: z.string().min(1),
      target_base_id: z.string().optional(),
      target_table: z.string().min(1),
      key_field: z.string().min(1),
      delete_missing: z.boolean().default(false),
    })
    .optional(),
});

export interface SagaType {
  name: string;
  description: string;
  input: z.ZodType;
  plan(input: never): Plan;
}

const write = (name: string, spec: Record<string, unknown>): StepDef =>
  ({ name, type: 'airtable_write', write: spec }) as StepDef;

export function applyChangesPlan(input: z.output<typeof applyChangesInput>): Plan {
  const steps: StepDef[] = [];
  // Consecutive changes of one kind to one table are one write (chunked by 10), so 30 linked creates are 3 requests.
  for (const change of input.changes) {
    const last = steps.at(-1) as
      | (StepDef & { write: { op: string; table: string; records: unknown[] } })
      | undefined;
    const record = {
      ...(change.ref ? { ref: change.ref } : {}),
      ...(change.id !== undefined ? { id: change.id } : {}),
      ...(change.fields ? { fields: change.fields } : {}),
    };
    const refsEarlierInSame =
      last &&
      JSON.stringify(record).includes('"$ref"') &&
      last.write.op === 'create' &&
      last.write.table === change.table;
    if (last && last.write.op === change.op && last.write.table === change.table && !refsEarlierInSame) {
      last.write.records.push(record);
      continue;
    }
    steps.push(
      write(`change_${steps.length + 1}_${change.op}`, {
        op: change.op,
        table: change.table,
        ...(input.base_id ? { base_id: input.base_id } : {}),
        typecast: input.typecast,
        records: [record],
      }),
    );
  }
  return { steps, compensate: true };
}

export const SAGA_TYPES: readonly SagaType[] = [
  {
    name: 'linked_records',
    description:
      'Create a parent record and its linked children across tables: all of them, or none (what was created is deleted).',
    input: linkedRecordsInput,
    plan(input: z.output<typeof linkedRecordsInput>): Plan {
      const common = { ...(input.base_id ? { base_id: input.base_id } : {}), typecast: input.typecast };
      const steps: StepDef[] = [
        write('parent', {
          op: 'create',
          table: input.parent.table,
          ...common,
          records: [{ ref: 'parent', fields: input.parent.fields }],
        }),
      ];
      const byTable = new Map<string, { ref: string; fields: Record<string, unknown> }[]>();
      input.children.forEach((child, i) => {
        const list = byTable.get(child.table) ?? [];
        list.push({
          ref: `child_${i}`,
          fields: { ...child.fields, [child.link_field]: [{ $ref: 'parent' }] },
        });
        byTable.set(child.table, list);
      });
      let n = 0;
      for (const [table, records] of byTable) {
        steps.push(write(`children_${++n}`, { op: 'create', table, ...common, records }));
      }
      return { steps, compensate: true, output: { parent_id: '{{refs.parent}}', refs: '{{refs}}' } };
    },
  },
  {
    name: 'airtable_integration',
    description:
      'Connect a base: check access, read its schema, create or refresh its metadata table, and optionally sync a table into another.',
    input: integrationInput,
    plan(input: z.output<typeof integrationInput>): Plan {
      const steps = [
        {
          name: 'check_access',
          type: 'tool',
          tool: 'list_tables',
          args: { base_id: input.base_id, detail: 'names' },
        },
        {
          name: 'read_schema',
          type: 'tool',
          tool: 'list_tables',
          args: { base_id: input.base_id, detail: 'fields' },
        },
        {
          name: 'metadata_table',
          type: 'tool',
          tool: 'create_metadata_table',
          args: {
            base_id: input.base_id,
            ...(input.metadata_table ? { table_name: input.metadata_table } : {}),
          },
          // Creating or refreshing the metadata table describes the base; it is kept even if a later step fails.
          compensation: 'none',
        },
      ] as StepDef[];
      if (input.sync) {
        steps.push({
          name: 'sync',
          type: 'tool',
          tool: 'sync_tables',
          args: {
            source_base_id: input.base_id,
            source_table_id: input.sync.source_table,
            target_base_id: input.sync.target_base_id ?? input.base_id,
            target_table_id: input.sync.target_table,
            key_field: input.sync.key_field,
            delete_missing: input.sync.delete_missing,
          },
          compensation: 'none',
        } as StepDef);
      }
      return { steps, compensate: true };
    },
  },
  {
    name: 'apply_changes',
    description:
      'An ordered list of creates, updates and deletes across the tables of one base, applied as one saga: all of them or none.',
    input: applyChangesInput,
    plan: applyChangesPlan as (input: never) => Plan,
  },
];

export function sagaType(name: string): SagaType | undefined {
  return SAGA_TYPES.find((t) => t.name === name);
}
