/**
 * Attachment upload (reference §8). Real Airtable serves it on content.airtable.com; the sandbox serves
 * the same path on its own port and keeps the bytes, which `GET /_sandbox/attachments/{att}/{name}` returns.
 */

import { guessMimeType } from './cells-write.js';
import { baseFor, type Handler, objectBody } from './context.js';
import { apiError, invalidRequest, invalidValue, recordNotFound } from './errors.js';
import { newId } from './ids.js';
import { Reader } from './reader.js';
import { renderRecord } from './render.js';
import { findField, tableById } from './schema.js';
import { WriteBatch } from './writer.js';

export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export const uploadAttachment: Handler = (req, app) => {
  const base = baseFor(app, req, 'edit');
  const recordId = req.params.record ?? '';
  const table = tableById(base, app.store.tableOfRecord(recordId) ?? '');
  if (!table) throw recordNotFound();
  const field = findField(table, req.params.field ?? '');
  if (!field) throw apiError(422, 'UNKNOWN_FIELD_NAME', `Unknown field name: "${req.params.field}"`);
  if (field.type !== 'multipleAttachments') throw invalidValue(field.name);
  const body = objectBody(req);
  const { contentType, file, filename } = body as {
    contentType?: unknown;
    file?: unknown;
    filename?: unknown;
  };
  if (typeof file !== 'string' || typeof filename !== 'string' || filename === '' || !BASE64.test(file)) {
    throw invalidRequest();
  }
  const data = Buffer.from(file, 'base64');
  if (data.length > MAX_UPLOAD_BYTES) {
    throw invalidRequest('Invalid request: the file is larger than the 5 MB upload limit');
  }
  const type = typeof contentType === 'string' && contentType !== '' ? contentType : guessMimeType(filename);
  const id = newId('att');
  app.store.putAttachment(id, { contentType: type, filename, data });
  const url = `${app.url()}/_sandbox/attachments/${id}/${encodeURIComponent(filename)}`;
  const batch = new WriteBatch(app.store, base, false);
  const current = app.store.getRecord(table.id, recordId)!.fields[field.id];
  const kept = Array.isArray(current) ? current : [];
  const record = batch.update(table, recordId, { [field.id]: [...kept, { url, filename }] }, false);
  // the converter gave the new attachment a size of 0; the upload knows the real size and type
  const list = record.fields[field.id] as Array<Record<string, unknown>>;
  list[list.length - 1] = { id, url, filename, size: data.length, type };
  batch.commit();
  const reader = new Reader(app.store, base, { now: new Date() });
  return renderRecord(reader, table, app.store.getRecord(table.id, recordId)!, {
    byId: true,
    cellFormat: 'json',
    commentCount: false,
  });
};
