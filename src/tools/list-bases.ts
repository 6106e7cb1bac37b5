import { z } from 'zod';
import { canUseBase } from '../app/principal.js';
import { defineTool } from './define.js';
import { fitToBudget, plural } from './format.js';

export const listBases = defineTool({
  name: 'list_bases',
  title: 'List bases',
  description: 'List the Airtable bases this token can access, with their ids and permission levels.',
  toolset: 'schema',
  kind: 'read',
  input: {},
  output: {
    bases: z.array(z.object({ id: z.string(), name: z.string(), permissionLevel: z.string() })),
    truncated: z.boolean(),
  },
  async run(_args, ctx) {
    const principal = ctx.principal;
    // A principal limited to some bases sees only those (the rest would only invite denied calls).
    const all = (await ctx.schemas.bases(ctx.signal)).filter(
      (b) => !principal || canUseBase(principal, b.id),
    );
    const line = (b: (typeof all)[number]) => `${b.id} ${b.name} (${b.permissionLevel})`;
    const { count, truncated } = fitToBudget(all, line, ctx.maxResponseChars);
    const bases = all.slice(0, count);
    const header = truncated
      ? `${plural(all.length, 'base')}, first ${count} shown:`
      : `${plural(count, 'base')}:`;
    return { structured: { bases, truncated }, text: [header, ...bases.map(line)].join('\n') };
  },
});
