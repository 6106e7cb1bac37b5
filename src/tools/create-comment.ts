import { z } from 'zod';
import { COMMENT_ID_PATTERN } from '../airtable/ids.js';
import { resolveBaseId, withTableCheck } from './context.js';
import { defineTool } from './define.js';
import { commentLine, commentSchema, toCommentEntry } from './list-comments.js';
import { baseIdParam, recordIdParam, tableParam } from './schemas.js';

export const createComment = defineTool({
  name: 'create_comment',
  title: 'Create comment',
  description:
    'Add a comment (1-10,000 characters) to a record, optionally as a reply to another comment; mention people ' +
    'with @[usrXXXXXXXXXXXXXX]. Returns the new comment.',
  toolset: 'comments',
  kind: 'write',
  input: {
    base_id: baseIdParam,
    table_id: tableParam,
    record_id: recordIdParam,
    text: z
      .string()
      .min(1)
      .max(10_000)
      .refine((text) => text.trim().length > 0, 'must not be blank')
      .describe('Comment text (1-10,000 characters).'),
    parent_comment_id: z
      .string()
      .trim()
      .regex(COMMENT_ID_PATTERN, 'must be a comment id like comXXXXXXXXXXXXXX')
      .optional()
      .describe('Reply to this comment (comXXXXXXXXXXXXXX).'),
  },
  output: { comment: commentSchema },
  async run(args, ctx) {
    const baseId = resolveBaseId(ctx, args.base_id);
    const created = await withTableCheck(ctx, baseId, args.table_id, (table) =>
      ctx.client.createComment(baseId, table, args.record_id, args.text, {
        parentCommentId: args.parent_comment_id,
        signal: ctx.signal,
      }),
    );
    const comment = toCommentEntry(created);
    return { structured: { comment }, text: `Created comment on ${args.record_id}: ${commentLine(comment)}` };
  },
});
