/**
 * Writes src/tools/published-schemas.json: every core tool's input and output
 * JSON Schema, as tools/list publishes them (see src/tools/define.ts).
 *   npm run schemas
 * test/published-schemas.test.ts fails while the file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { ALL_TOOLS } from '../src/tools/index.js';
import { publishedSchemas } from '../src/tools/published.js';

const file = new URL('../src/tools/published-schemas.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(publishedSchemas(ALL_TOOLS), null, 2)}\n`);
process.stdout.write(`wrote ${file.pathname} (${ALL_TOOLS.length} tools)\n`);
