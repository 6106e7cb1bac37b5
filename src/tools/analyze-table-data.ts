import { z } from 'zod';
import { requireFields, resolveBaseId } from './context.js';
import { defineTool } from './define.js';
import { fitToBudget, plural } from './format.js';
import { readAll } from './read-all.js';
import { baseIdParam, fieldNamesParam, tableParam } from './schemas.js';
import { analyzeField, fieldLine } from './stats.js';

const MAX_SAMPLE = 10_000;

const fieldStatsSchema = z.object({
  name: z.string(),
  type: z.string(),
  filled: z.number().int(),
  empty: z.number().int(),
  fill_rate: z.number().describe('Share of analysed records with a value, 0..1'),
  numbers: z
    .object({
      min: z.number(),
      max: z.number(),
      mean: z.number(),
      median: z.number(),
      zeros: z.number().int(),
    })
    .optional(),
  text_length: z.object({ min: z.number(), max: z.number(), mean: z.number() }).optional(),
  choices: z
    .array(z.object({ value: z.string(), count: z.number().int() }))
    .optional()
    .describe('Most frequent options first (top 20)'),
  distinct: z.number().int().optional(),
  true_count: z.number().int().optional(),
  dates: z.object({ min: z.string(), max: z.string() }).optional(),
  items_per_record: z.object({ mean: z.number(), max: z.number() }).optional(),
});

export const analyzeTableData = defineTool({
  name: 'analyze_table_data',
  title: 'Analyze table data',
  description:
    'Profile a table per field (fill rate, number stats, text lengths, select counts, dates, links) with ' +
    'data-quality findings. Reads the first sample_size records and says whether there are more.',
  toolset: 'analysis',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    sample_size: z.number().int().min(1).max(MAX_SAMPLE).default(100),
    fields: fieldNamesParam.describe('Only these fields; default all.'),
  },
  output: {
    table: z.object({ id: z.string(), name: z.string() }),
    records_analyzed: z.number().int(),
    sampled: z.boolean().describe('True when the table has more records than were analysed.'),
    fields: z.array(fieldStatsSchema),
    data_quality: z.array(z.string()),
    truncated: z
      .boolean()
      .describe('True when field statistics or findings were cut to fit the response budget.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const table = await ctx.schemas.table(baseId, args.table_id, ctx.signal);
    const fields = args.fields?.length ? requireFields(table, args.fields) : table.fields;
    const { records, more } = await readAll(
      ctx,
      baseId,
      table.id,
      // Naming every field would only lengthen the request; name them when a subset was asked for.
      { fields: args.fields?.length ? fields.map((f) => f.name) : undefined },
      args.sample_size,
      (soFar) => void ctx.progress(soFar, args.sample_size, `read ${soFar} records`),
    );
    const analyses = fields.map((f) =>
      analyzeField(
        f,
        records.map((r) => r.fields[f.name]),
        f.id === table.primaryFieldId,
      ),
    );
    const allStats = analyses.map((a) => a.stats);
    const allFindings = analyses.flatMap((a) => a.findings);
    // Findings are the point of the call: they get a quarter of the budget first, field statistics the rest.
    const findingsFit = fitToBudget(allFindings, (f) => f, ctx.maxResponseChars / 4, 0);
    const findings = allFindings.slice(0, findingsFit.count);
    const used = findings.reduce((n, f) => n + f.length + 3, 0);
    const statsFit = fitToBudget(allStats, fieldLine, ctx.maxResponseChars - used, 400);
    const stats = allStats.slice(0, statsFit.count);
    const truncated = findingsFit.truncated || statsFit.truncated;

    const scope = more
      ? `first ${plural(records.length, 'record')} analysed; the table has more (raise sample_size, max ${MAX_SAMPLE})`
      : `${plural(records.length, 'record')} analysed (whole table)`;
    const lines = [
      `${table.name} (${table.id}): ${scope}, ${plural(fields.length, 'field')}.`,
      ...stats.map(fieldLine),
      findings.length ? 'Data quality:' : 'Data quality: no findings.',
      ...findings.map((f) => `- ${f}`),
    ];
    if (truncated) {
      lines.push(
        `(cut to fit the response: ${stats.length}/${allStats.length} fields, ${findings.length}/${allFindings.length} findings; pass fields=[…] to focus)`,
      );
    }
    return {
      structured: {
        table: { id: table.id, name: table.name },
        records_analyzed: records.length,
        sampled: more,
        fields: stats,
        data_quality: findings,
        truncated,
      },
      text: lines.join('\n'),
    };
  },
});
