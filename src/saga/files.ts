/**
 * Uploaded files (POST /api/files, multipart field "file"): size and type
 * limits, sha256, stored in the database so every replica can import them;
 * and the import_file step that turns a file's rows into records through a
 * journaled create (chunks of 10, per-row failures, all-or-nothing on request).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { HttpProblem, problems } from '../app/api.js';
import type { Principal } from '../app/principal.js';
import type { SchemaSource } from './airtable-ops.js';
import { planWrite, runWrite, summarize, type WriteJournal } from './airtable-ops.js';
import type { Importer } from './engine.js';
import { StepFailure } from './engine.js';
import { ImportError, parseFile, rowsToInputs } from './import.js';
import type { SagaOptions } from './options.js';
import type { SagaRepository } from './repository.js';
import { seesAll } from './service.js';
import { type FileRow, ownerOf } from './types.js';

const MIME: Record<string, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  txt: 'text/plain',
  json: 'application/json',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export class FileStore {
  constructor(
    private readonly repo: SagaRepository,
    private readonly options: SagaOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores a file from bytes (uploads, tools that pass a file's content). */
  async put(principal: Principal, name: string, content: Buffer, mimeType?: string): Promise<FileRow> {
    const extension = extensionOf(name);
    const allowed = this.options.uploadTypes.map((t) => t.replace(/^\./, '').toLowerCase());
    if (!allowed.includes(extension)) {
      throw new HttpProblem(
        415,
        'Unsupported Media Type',
        `Files of type .${extension || '(none)'} are not accepted; allowed: ${allowed.map((t) => `.${t}`).join(', ')}.`,
      );
    }
    if (content.length > this.options.maxUploadBytes) {
      throw problems.payloadTooLarge(`The file is larger than ${this.options.maxUploadBytes} bytes.`);
    }
    if (content.length === 0) throw problems.badRequest('The file is empty.');
    const row: FileRow = {
      id: `file_${randomUUID().replace(/-/g, '')}`,
      owner_id: ownerOf(principal),
      user_id: principal.userId ?? null,
      name: name.slice(0, 255),
      mime_type:
        mimeType && mimeType !== 'application/octet-stream'
          ? mimeType
          : (MIME[extension] ?? 'application/octet-stream'),
      extension,
      size_bytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      content,
      created_at: new Date(this.now()).toISOString(),
    };
    await this.repo.insertFile(row);
    return row;
  }

  /** Reads one multipart "file" part, refusing it as soon as it passes the size limit. */
  async upload(principal: Principal, req: Request): Promise<FileRow> {
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw new HttpProblem(
        415,
        'Unsupported Media Type',
        'Send multipart/form-data with the file in a field named "file".',
      );
    }
    const { default: Busboy } = await import('busboy');
    const limit = this.options.maxUploadBytes;
    const part = await new Promise<{ name: string; mime: string; content: Buffer }>((resolve, reject) => {
      let busboy: ReturnType<typeof Busboy>;
      try {
        busboy = Busboy({ headers: req.headers, limits: { files: 1, fileSize: limit + 1, fields: 20 } });
      } catch (error) {
        reject(problems.badRequest(`Not a readable multipart body: ${(error as Error).message}`));
        return;
      }
      let found = false;
      busboy.on('file', (field, stream, info) => {
        if (field !== 'file' || found) {
          stream.resume();
          return;
        }
        found = true;
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= limit) chunks.push(chunk);
        });
        stream.on('limit', () => reject(problems.payloadTooLarge(`The file is larger than ${limit} bytes.`)));
        stream.on('end', () => {
          if (size > limit) return;
          resolve({ name: info.filename || 'upload', mime: info.mimeType, content: Buffer.concat(chunks) });
        });
      });
      busboy.on('error', (error: Error) =>
        reject(problems.badRequest(`Not a readable multipart body: ${error.message}`)),
      );
      busboy.on('close', () => {
        if (!found) reject(problems.badRequest('No file: send it in a multipart field named "file".'));
      });
      req.pipe(busboy);
    });
    return this.put(principal, part.name, part.content, part.mime);
  }

  list(principal: Principal, limit: number, skip: number) {
    return this.repo.listFiles(seesAll(principal) ? undefined : ownerOf(principal), limit, skip);
  }
}

function extensionOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(name.trim());
  return m ? m[1]!.toLowerCase() : '';
}

/**
 * The import_file step: parse, map headers to fields, create in chunks of 10
 * (journaled: a resumed step continues, a rollback deletes what was created).
 */
export function fileImporter(
  repo: SagaRepository,
  options: SagaOptions,
  schemas: SchemaSource,
  defaultBase?: string,
): Importer {
  return async (step, ctx) => {
    const file = await repo.getFile(step.file_id);
    if (!file || (!seesAll(ctx.principal) && file.owner_id !== ownerOf(ctx.principal))) {
      throw new StepFailure(`No file ${step.file_id} (upload it with POST /api/files).`, false);
    }
    const baseId = step.base_id ?? defaultBase;
    if (!baseId) throw new StepFailure('Give base_id: there is no default base.', false);
    const ops = ctx.ops();
    let journal: WriteJournal | undefined = ctx.journal;
    let meta: {
      failures: { row: number; error: string }[];
      mapping: Record<string, string>;
      ignored: string[];
      rows: number[];
    };
    try {
      const table = await schemas.table(baseId, step.table, ctx.signal);
      const sheet = await parseFile(Buffer.from(file.content), file.extension, step);
      if (sheet.rows.length > options.maxImportRows) {
        throw new ImportError(
          `The file has ${sheet.rows.length} rows; at most ${options.maxImportRows} are imported at once.`,
        );
      }
      const mapped = rowsToInputs(sheet, table, { mapping: step.mapping, typecast: step.typecast });
      meta = {
        failures: mapped.failures.map((f) => ({ row: f.row, error: f.error })),
        mapping: mapped.mapping,
        ignored: mapped.ignored_columns,
        rows: sheet.rows.map((r) => r.line),
      };
      if (!journal) {
        journal = await planWrite(ops, {
          op: 'create',
          baseId,
          table: table.id,
          records: mapped.inputs,
          typecast: step.typecast,
          mode: 'collect',
        });
        await ops.save(journal);
      }
    } catch (error) {
      if (error instanceof ImportError) throw new StepFailure(error.message, false);
      throw error;
    }
    const summary = journal.chunks.length ? await runWrite(ops, journal) : summarize(journal);
    const rowFailures = [
      ...meta.failures,
      ...summary.failures.map((f) => ({ row: meta.rows[f.index] ?? f.index + 2, error: f.error })),
    ].sort((a, b) => a.row - b.row);
    const output = {
      file_id: file.id,
      base_id: baseId,
      table: summary.table_name,
      rows: meta.rows.length,
      created: summary.count,
      failed: rowFailures.length,
      failures: rowFailures.slice(0, 500),
      mapping: meta.mapping,
      ignored_columns: meta.ignored,
      ids: summary.ids,
    };
    if (rowFailures.length && step.rollback_on_error) {
      const first = rowFailures[0]!;
      return {
        output,
        failed: `${rowFailures.length} of ${meta.rows.length} rows could not be imported (first: row ${first.row}: ${first.error}); the import is rolled back`,
      };
    }
    return { output };
  };
}
