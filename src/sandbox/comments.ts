/** Record comments (reference §6): newest first, `offset: null` on the last page. */
import { ID_BODY } from '../airtable/ids.js';
import { type ApiRequest, type App, baseFor, type Handler, objectBody } from './context.js';
import { commentNotFound, invalidOffset, invalidRequest, recordNotFound } from './errors.js';
import { newId } from './ids.js';
import type { BaseDef } from './model.js';
import { intParam } from './params.js';
import { requireTable } from './schema.js';
import type { StoredComment } from './store.js';
import { SANDBOX_USER } from './users.js';

const MAX_PAGE = 100;
const MAX_TEXT = 100_000;
const MENTION = new RegExp(`@\\[(usr${ID_BODY})\\]`, 'g');

function recordScope(
  app: App,
  req: ApiRequest,
  level: 'read' | 'comment',
): { base: BaseDef; recordId: string } {
  const base = baseFor(app, req, level);
  const table = requireTable(base, req.params.table ?? '');
  const recordId = req.params.record ?? '';
  if (!app.store.getRecord(table.id, recordId)) throw recordNotFound();
  return { base, recordId };
}

function newestFirst(a: StoredComment, b: StoredComment): number {
  if (a.createdTime !== b.createdTime) return a.createdTime < b.createdTime ? 1 : -1;
  return b.seq - a.seq;
}

/** Offsets are the position after the last comment returned (its time and sequence), so deletes don't shift pages. */
function encodeCursor(c: StoredComment): string {
  return Buffer.from(`${c.createdTime}|${c.seq}`).toString('base64url');
}

function decodeCursor(offset: string): { time: string; seq: number } {
  const [time, seq] = Buffer.from(offset, 'base64url').toString('utf8').split('|');
  if (!time || !seq || !/^\d+$/.test(seq) || Number.isNaN(Date.parse(time))) throw invalidOffset(offset);
  return { time, seq: Number(seq) };
}

function render(c: StoredComment): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    author: c.author,
    text: c.text,
    createdTime: c.createdTime,
    lastUpdatedTime: c.lastUpdatedTime,
  };
  if (c.parentCommentId) out.parentCommentId = c.parentCommentId;
  const mentioned: Record<string, unknown> = {};
  for (const m of c.text.matchAll(MENTION)) {
    if (m[1] === SANDBOX_USER.id) {
      mentioned[m[1]] = { id: m[1], email: SANDBOX_USER.email, displayName: SANDBOX_USER.name, type: 'user' };
    }
  }
  if (Object.keys(mentioned).length) out.mentioned = mentioned;
  out.reactions = [];
  return out;
}

export const listComments: Handler = (req, app) => {
  const { recordId } = recordScope(app, req, 'read');
  const pageSize = intParam(req.query.get('pageSize') ?? undefined) ?? MAX_PAGE;
  if (pageSize < 1 || pageSize > MAX_PAGE) throw invalidRequest();
  let sorted = [...app.store.commentsOf(recordId)].sort(newestFirst);
  const offset = req.query.get('offset');
  if (offset) {
    const cursor = decodeCursor(offset);
    sorted = sorted.filter(
      (c) => c.createdTime < cursor.time || (c.createdTime === cursor.time && c.seq < cursor.seq),
    );
  }
  const page = sorted.slice(0, pageSize);
  const more = sorted.length > pageSize;
  return { comments: page.map(render), offset: more ? encodeCursor(page.at(-1)!) : null };
};

function commentText(body: Record<string, unknown>): string {
  const text = body.text;
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT) throw invalidRequest();
  return text;
}

export const createComment: Handler = (req, app) => {
  const { base, recordId } = recordScope(app, req, 'comment');
  const body = objectBody(req);
  const text = commentText(body);
  const parent = body.parentCommentId;
  if (parent !== undefined && parent !== null) {
    if (typeof parent !== 'string' || !app.store.commentsOf(recordId).some((c) => c.id === parent)) {
      throw invalidRequest(`Invalid request: parent comment ${String(parent)} does not exist on this record`);
    }
  }
  const comment: StoredComment = {
    id: newId('com'),
    recordId,
    author: { ...SANDBOX_USER },
    text,
    createdTime: new Date().toISOString(),
    lastUpdatedTime: null,
    seq: app.store.newCommentSeq(),
  };
  if (typeof parent === 'string') comment.parentCommentId = parent;
  app.store.putComment(base.id, comment);
  return render(comment);
};

function findComment(app: App, recordId: string, id: string): StoredComment {
  const comment = app.store.commentsOf(recordId).find((c) => c.id === id);
  if (!comment) throw commentNotFound();
  return comment;
}

export const updateComment: Handler = (req, app) => {
  const { base, recordId } = recordScope(app, req, 'comment');
  const comment = findComment(app, recordId, req.params.comment ?? '');
  const updated = {
    ...comment,
    text: commentText(objectBody(req)),
    lastUpdatedTime: new Date().toISOString(),
  };
  app.store.putComment(base.id, updated);
  return render(updated);
};

export const deleteComment: Handler = (req, app) => {
  const { recordId } = recordScope(app, req, 'comment');
  const comment = findComment(app, recordId, req.params.comment ?? '');
  app.store.deleteComment(recordId, comment.id);
  return { id: comment.id, deleted: true };
};
