/** What `npm run schemas` writes to published-schemas.json, converted afresh from each tool's zod schemas. */
import type { DefinedTool } from './define.js';
import { convertToLeanJsonSchema, type Json } from './json-schema.js';

export function publishedSchemas(
  tools: readonly DefinedTool[],
): Record<string, { input: Json; output: Json }> {
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      {
        input: convertToLeanJsonSchema(tool.inputSchema, 'input'),
        output: convertToLeanJsonSchema(tool.outputSchema, 'output'),
      },
    ]),
  );
}
