import { z } from 'zod';
import type { Comment } from '../airtable/types.js';
import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { compactJson, fitToBudget, plural } from './format.js';
import { baseIdParam, recordIdParam, tableParam } from './schemas.js';

export const commentSchema = z.object({
  id: z.string(),
  author: z.object({ id: z.string(), name: z.string().optional(), email: z.string().optional() }),
  text: z.string(),
  createdTime: z.string(),
  lastUpdatedTime: z.string().nullable().describe('Set when the comment was edited.'),
  parentCommentId: z.string().optional().describe('The comment this one replies to.'),
});

export type CommentEntry = z.infer<typeof commentSchema>;

/** Only the parts a model reads; mentions and reactions are left out. */
export function toCommentEntry(c: Comment): CommentEntry {
  return {
    id: c.id,
    author: { id: c.author.id, name: c.author.name, email: c.author.email },
    text: c.text,
    createdTime: c.createdTime,
    lastUpdatedTime: c.lastUpdatedTime ?? null,
    parentCommentId: c.parentCommentId || undefined,
  };
}

/** `comX 2026-01-02T… Sandbox User <demo@…> [reply to comY] [edited]: "text"`. */
export function commentLine(c: CommentEntry): string {
  const who = [c.author.name, c.author.email ? `<${c.author.email}>` : undefined].filter(Boolean).join(' ');
  const reply = c.parentCommentId ? ` [reply to ${c.parentCommentId}]` : '';
  const edited = c.lastUpdatedTime ? ` [edited ${c.lastUpdatedTime}]` : '';
  return `${c.id} ${c.createdTime} ${who || c.author.id}${reply}${edited}: ${compactJson(c.text)}`;
}

export const listComments = defineTool({
  name: 'list_comments',
  title: 'List comments',
  description:
    "List a record's comments, newest first, up to page_size (1-100) per call: id, author, text, times and the " +
    'parent comment of replies. When more exist, `offset` continues where this call stopped.',
  toolset: 'comments',
  kind: 'read',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
    page_size: z.number().int().min(1).max(100).default(50).describe('Most comments to return (1-100).'),
    offset: z.string().trim().min(1).max(500).optional().describe('Continuation token from a previous call.'),
  },
  output: {
    comments: z.array(commentSchema),
    count: z.number().int(),
    offset: z
      .string()
      .optional()
      .describe('Pass to the next call to continue; absent when no comments remain.'),
  },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const fetchPage = (pageSize: number) =>
      withTableCheck(ctx, baseId, args.table_id, (table) =>
        ctx.client.listComments(baseId, table, args.record_id, {
          pageSize,
          offset: args.offset,
          signal: ctx.signal,
        }),
      );
    let page = await fetchPage(args.page_size);
    let comments = page.comments.map(toCommentEntry);
    const { count, truncated } = fitToBudget(comments, commentLine, ctx.maxResponseChars);
    if (truncated) {
      // Airtable offsets only mark page starts: ask again for a page that fits, so the offset stays exact.
      page = await fetchPage(count);
      comments = page.comments.map(toCommentEntry).slice(0, count);
    }
    const offset = page.offset || undefined;
    const more = offset ? `; more available, continue with offset=${compactJson(offset)}` : '';
    return {
      structured: { comments, count: comments.length, offset },
      text: [`${plural(comments.length, 'comment')}${more}`, ...comments.map(commentLine)].join('\n'),
    };
  },
});
