/**
 * The core tools' JSON Schemas are computed at development time
 * (src/tools/published-schemas.json) so a start does not convert them; this
 * keeps the file equal to zod's conversion and checks the fallback.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../src/tools/define.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import { publishedJsonSchema } from '../src/tools/json-schema.js';
import { publishedSchemas } from '../src/tools/published.js';
import published from '../src/tools/published-schemas.json' with { type: 'json' };

describe('published JSON Schemas', () => {
  it('src/tools/published-schemas.json is what zod converts now (after changing a tool: npm run schemas)', () => {
    expect(published).toEqual(publishedSchemas(ALL_TOOLS));
  });

  it('tools publish the file’s schemas', () => {
    for (const tool of ALL_TOOLS) {
      const entry = (published as Record<string, { input: unknown; output: unknown }>)[tool.name]!;
      expect(publishedJsonSchema(tool.inputSchema, 'input')).toBe(entry.input);
      expect(publishedJsonSchema(tool.outputSchema, 'output')).toBe(entry.output);
    }
  });

  it('a tool whose parameters differ from the file is converted, not served the stale schema', () => {
    const changed = defineTool({
      name: 'get_records',
      title: 'Changed',
      description: 'A get_records with other parameters.',
      toolset: 'records',
      kind: 'read',
      input: { table: z.string().describe('Table') },
      output: { n: z.number() },
      run: async () => ({ structured: { n: 1 }, text: '1' }),
    });
    const input = publishedJsonSchema(changed.inputSchema, 'input');
    expect(Object.keys(input.properties as object)).toEqual(['table']);
    expect(Object.keys(publishedJsonSchema(changed.outputSchema, 'output').properties as object)).toEqual([
      'n',
      'truncated',
    ]);
  });
});
