/**
 * Journaled Airtable writes: creates, updates and deletes in chunks of ten,
 * each chunk recorded (with what undoes it) before it is sent and again when
 * it is answered. Every request goes through the tool runtime with the run's
 * principal, so its bases and scopes apply.
 *
 * A chunk still marked `sending` when a step resumes (a crash, a timeout, a
 * lost answer) is checked against Airtable before anything is re-sent:
 * records it created are found again by creation time and values, deletes
 * are re-sent (a record already gone counts as deleted), updates are re-sent
 * (setting the same values twice changes nothing).
 */

import type { AirtableClient } from '../airtable/index.js';
import type { FieldSchema, TableSchema } from '../airtable/types.js';
import type { Principal } from '../app/principal.js';
import { canUseBase } from '../app/principal.js';
import type { ToolCallOutcome, ToolRuntime } from '../app/runtime.js';
import { isComputed } from '../tools/cells.js';

export const CHUNK = 10;
/** Records created this long before a chunk was sent still count as its own when it is checked (clock skew). */
const CREATED_SKEW_MS = 120_000;
/** Ids per RECORD_ID() lookup, so the formula stays short. */
const LOOKUP_CHUNK = 50;

export type WriteOp = 'create' | 'update' | 'delete';

export interface WriteInput {
  /** Position in the step's list of records. */
  index: number;
  ref?: string;
  id?: string;
  fields?: Record<string, unknown>;
}

export interface WrittenRecord {
  index: number;
  id: string;
  ref?: string;
}

export interface RowFailure {
  index: number;
  id?: string;
  error: string;
}

export interface Chunk {
  n: number;
  status: 'planned' | 'sending' | 'done';
  started_at?: string;
  /** What this chunk still has to write (dropped once done). */
  inputs?: WriteInput[];
  /** Records written: created ids, updated or deleted ids. */
  written?: WrittenRecord[];
  failures?: RowFailure[];
  /** update: the touched fields before the write; delete: the whole records. Read before sending. */
  previous?: { id: string; fields: Record<string, unknown> }[];
}

export interface WriteJournal {
  kind: 'airtable';
  op: WriteOp;
  base_id: string;
  table_id: string;
  table_name: string;
  typecast: boolean;
  /** all: the first failed record fails the write; collect: failures are reported per row (imports). */
  mode: 'all' | 'collect';
  chunks: Chunk[];
}

export interface WriteSummary {
  op: WriteOp;
  base_id: string;
  table_id: string;
  table_name: string;
  /** In input order. */
  records: WrittenRecord[];
  ids: string[];
  /** ref name → record id, for creates that named their records. */
  refs: Record<string, string>;
  failures: RowFailure[];
  count: number;
}

/** What undoing a write did (and, for a retried undo, how far it got). */
export interface UndoJournal {
  /** create: ids deleted; update: ids restored; delete: old → new ids of re-created records. */
  deleted?: string[];
  restored?: string[];
  recreated?: { old_id: string; new_id: string }[];
  /** A delete's re-creation, journaled like any create. */
  recreate?: WriteJournal;
  note?: string;
}

export interface SchemaSource {
  table(baseId: string, table: string, signal?: AbortSignal): Promise<TableSchema>;
}

export interface OpsContext {
  tools: ToolRuntime;
  principal: Principal;
  runId: string;
  signal: AbortSignal;
  schemas: SchemaSource;
  /** Persists the journal; called before every write is sent and after it is answered. */
  save(journal: WriteJournal): Promise<void>;
  /** Airtable requests made, for usage records. */
  countRequests?(n: number): void;
  /** For reads (before a write, to check a lost answer): uncut values. The base was checked in planWrite. */
  client?: Pick<AirtableClient, 'listRecords'>;
  now?: () => number;
}

/** A write that failed: `retryable` when trying again may succeed (a timeout, a 5xx), not for bad input. */
export class WriteError extends Error {
  override name = 'WriteError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly failures: RowFailure[] = [],
  ) {
    super(message);
  }
}

/* ------------------------------------------------------------------ planning */

export async function planWrite(
  ctx: Pick<OpsContext, 'schemas' | 'signal' | 'principal'>,
  spec: {
    op: WriteOp;
    baseId: string;
    table: string;
    records: WriteInput[];
    typecast?: boolean;
    mode?: 'all' | 'collect';
  },
): Promise<WriteJournal> {
  if (!canUseBase(ctx.principal, spec.baseId)) {
    throw new WriteError(`This run may not use base ${spec.baseId}.`, false);
  }
  const schema = await ctx.schemas.table(spec.baseId, spec.table, ctx.signal).catch((error: unknown) => {
    throw new WriteError(error instanceof Error ? error.message : String(error), false);
  });
  for (const input of spec.records) {
    if (spec.op !== 'create' && !input.id) {
      throw new WriteError(`Record #${input.index}: an ${spec.op} needs the record's id.`, false);
    }
  }
  const chunks: Chunk[] = [];
  for (let i = 0; i < spec.records.length; i += CHUNK) {
    chunks.push({ n: chunks.length, status: 'planned', inputs: spec.records.slice(i, i + CHUNK) });
  }
  return {
    kind: 'airtable',
    op: spec.op,
    base_id: spec.baseId,
    table_id: schema.id,
    table_name: schema.name,
    typecast: spec.typecast ?? false,
    mode: spec.mode ?? 'all',
    chunks,
  };
}

/* ------------------------------------------------------------------ running */

/** Runs (or resumes) a planned write; the journal is saved as it goes. */
export async function runWrite(ctx: OpsContext, journal: WriteJournal): Promise<WriteSummary> {
  const schema = await ctx.schemas.table(journal.base_id, journal.table_id, ctx.signal);
  for (const chunk of journal.chunks) {
    if (chunk.status === 'done') continue;
    if (chunk.status === 'sending') await recoverChunk(ctx, journal, chunk, schema);
    if ((chunk.status as Chunk['status']) === 'done') continue;
    if (journal.op !== 'create' && !chunk.previous) {
      chunk.previous = await readPrevious(ctx, journal, schema, chunk.inputs ?? []);
    }
    chunk.status = 'sending';
    chunk.started_at = new Date((ctx.now ?? Date.now)()).toISOString();
    await ctx.save(journal);
    const outcome = await sendChunk(ctx, journal, chunk.inputs ?? []);
    if (outcome.unknown.length) {
      // Keep the chunk `sending` with what is still in doubt: the retry checks Airtable before re-sending.
      chunk.written = [...(chunk.written ?? []), ...outcome.written];
      chunk.failures = outcome.failures;
      const doubt = new Set(outcome.unknown.map((u) => u.index));
      chunk.inputs = (chunk.inputs ?? []).filter((i) => doubt.has(i.index));
      await ctx.save(journal);
      throw new WriteError(
        `${journal.op} in "${journal.table_name}": no answer for ${outcome.unknown.length} record(s); they are checked before anything is sent again`,
        true,
      );
    }
    settleChunk(journal, chunk, outcome);
    await ctx.save(journal);
    const failures = chunk.failures ?? [];
    if (journal.mode === 'all' && failures.length) {
      const first = failures[0]!;
      throw new WriteError(
        `${journal.op} in "${journal.table_name}" failed for record #${first.index}: ${first.error}`,
        false,
        failures,
      );
    }
  }
  return summarize(journal);
}

export function summarize(journal: WriteJournal): WriteSummary {
  const records = journal.chunks.flatMap((c) => c.written ?? []).sort((a, b) => a.index - b.index);
  const refs: Record<string, string> = {};
  for (const r of records) if (r.ref) refs[r.ref] = r.id;
  return {
    op: journal.op,
    base_id: journal.base_id,
    table_id: journal.table_id,
    table_name: journal.table_name,
    records,
    ids: records.map((r) => r.id),
    refs,
    failures: journal.chunks.flatMap((c) => c.failures ?? []),
    count: records.length,
  };
}

interface ChunkOutcome {
  written: WrittenRecord[];
  failures: RowFailure[];
  /** Inputs whose request was sent but not answered: they may have been written. */
  unknown: WriteInput[];
}

async function sendChunk(
  ctx: OpsContext,
  journal: WriteJournal,
  inputs: WriteInput[],
): Promise<ChunkOutcome> {
  if (!inputs.length) return { written: [], failures: [], unknown: [] };
  const common = { base_id: journal.base_id, table_id: journal.table_id };
  if (journal.op === 'create') {
    const result = await callBatch(ctx, 'batch_create_records', {
      ...common,
      records: inputs.map((i) => i.fields ?? {}),
      typecast: journal.typecast,
    });
    return batchOutcome(result, inputs);
  }
  if (journal.op === 'update') {
    const result = await callBatch(ctx, 'batch_update_records', {
      ...common,
      records: inputs.map((i) => ({ id: i.id!, fields: i.fields ?? {} })),
      typecast: journal.typecast,
    });
    return batchOutcome(result, inputs);
  }
  return deleteIds(ctx, journal, inputs);
}

interface BatchStructured {
  records?: { index: number; id: string }[];
  failures?: { index: number; id?: string; error: string }[];
  unknown_outcomes?: { index: number; id?: string; error: string }[];
}

/**
 * A batch tool's call. Its error result still says per record what failed
 * (and what is unknown), so it is returned as is; only a call without that
 * (the tool refused, Airtable unreachable) becomes a WriteError.
 */
async function callBatch(
  ctx: OpsContext,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolCallOutcome> {
  const result = await ctx.tools.call(name, args, {
    principal: ctx.principal,
    source: 'workflow',
    sessionId: ctx.runId,
    signal: ctx.signal,
  });
  ctx.countRequests?.(result.airtableRequests);
  const structured = result.structured as BatchStructured | undefined;
  if (result.isError && !structured?.failures?.length && !structured?.unknown_outcomes?.length) {
    const permanent = result.outcome === 'invalid_input' || result.outcome === 'denied';
    throw new WriteError(`${name}: ${result.text}`, !permanent);
  }
  return result;
}

/** What a batch tool's answer says was written, what failed and what is unknown, by the step's own indexes. */
function batchOutcome(result: ToolCallOutcome, inputs: WriteInput[]): ChunkOutcome {
  const structured = result.structured as BatchStructured | undefined;
  const written = (structured?.records ?? []).map((r) => {
    const input = inputs[r.index]!;
    return { index: input.index, id: r.id, ...(input.ref ? { ref: input.ref } : {}) };
  });
  const failure = (f: { index: number; error: string }) => ({
    index: inputs[f.index]?.index ?? f.index,
    ...(inputs[f.index]?.id ? { id: inputs[f.index]!.id } : {}),
    error: f.error,
  });
  return {
    written,
    failures: (structured?.failures ?? []).map(failure),
    unknown: (structured?.unknown_outcomes ?? []).map((u) => inputs[u.index]!).filter(Boolean),
  };
}

async function deleteIds(
  ctx: OpsContext,
  journal: WriteJournal,
  inputs: WriteInput[],
): Promise<ChunkOutcome> {
  const common = { base_id: journal.base_id, table_id: journal.table_id };
  if (ctx.tools.get('delete_records')) {
    const result = await callBatch(ctx, 'delete_records', {
      ...common,
      record_ids: inputs.map((i) => i.id!),
    });
    return batchOutcome(result, inputs);
  }
  const written: WrittenRecord[] = [];
  for (const input of inputs) {
    await call(ctx, 'delete_record', { ...common, record_id: input.id! });
    written.push({ index: input.index, id: input.id! });
  }
  return { written, failures: [], unknown: [] };
}

function settleChunk(journal: WriteJournal, chunk: Chunk, outcome: ChunkOutcome): void {
  chunk.written = [...(chunk.written ?? []), ...outcome.written];
  chunk.failures = outcome.failures;
  chunk.status = 'done';
  // Only a create's inputs are needed to find its records again; keep the journal small.
  if (journal.op === 'create') delete chunk.inputs;
}

/** Calls a tool with the run's principal; a failed call becomes a WriteError. */
async function call(ctx: OpsContext, name: string, args: Record<string, unknown>): Promise<ToolCallOutcome> {
  const result = await ctx.tools.call(name, args, {
    principal: ctx.principal,
    source: 'workflow',
    sessionId: ctx.runId,
    signal: ctx.signal,
  });
  ctx.countRequests?.(result.airtableRequests);
  if (result.isError) {
    const permanent = result.outcome === 'invalid_input' || result.outcome === 'denied';
    throw new WriteError(`${name}: ${result.text}`, !permanent);
  }
  return result;
}

/* ------------------------------------------------------------------ reading */

/** Records by id, with the given fields (all when omitted); ids not found are absent from the map. */
export async function readByIds(
  ctx: OpsContext,
  baseId: string,
  tableId: string,
  ids: readonly string[],
  fields?: readonly string[],
): Promise<Map<string, { id: string; createdTime: string; fields: Record<string, unknown> }>> {
  const found = new Map<string, { id: string; createdTime: string; fields: Record<string, unknown> }>();
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const slice = ids.slice(i, i + LOOKUP_CHUNK);
    const formula = `OR(${slice.map((id) => `RECORD_ID()='${id.replace(/'/g, '')}'`).join(',')})`;
    const records = await listRecords(ctx, baseId, tableId, formula, fields);
    for (const r of records) found.set(r.id, r);
  }
  return found;
}

async function listRecords(
  ctx: OpsContext,
  baseId: string,
  tableId: string,
  formula: string,
  fields?: readonly string[],
): Promise<{ id: string; createdTime: string; fields: Record<string, unknown> }[]> {
  if (ctx.client) {
    // Straight from the client (same limiter): tools cut long values to the response budget, an undo must not.
    const out: { id: string; createdTime: string; fields: Record<string, unknown> }[] = [];
    let offset: string | undefined;
    do {
      const page = await ctx.client.listRecords(
        baseId,
        tableId,
        {
          filterByFormula: formula,
          maxRecords: 100_000,
          ...(fields?.length ? { fields: [...fields] } : {}),
          offset,
        },
        { signal: ctx.signal },
      );
      ctx.countRequests?.(Math.max(1, Math.ceil(page.records.length / 100)));
      out.push(...page.records);
      offset = page.offset;
    } while (offset);
    return out;
  }
  const out: { id: string; createdTime: string; fields: Record<string, unknown> }[] = [];
  let offset: string | undefined;
  do {
    const result = await call(ctx, 'get_records', {
      base_id: baseId,
      table_id: tableId,
      filter_by_formula: formula,
      max_records: 1000,
      ...(fields?.length ? { fields: [...fields] } : {}),
      ...(offset ? { offset } : {}),
    });
    const structured = result.structured as {
      records: { id: string; createdTime: string; fields: Record<string, unknown> }[];
      offset?: string;
    };
    out.push(...structured.records);
    offset = structured.offset;
  } while (offset);
  return out;
}

/** Before an update or delete: the values that undo it (null for empty cells, so restoring clears them). */
async function readPrevious(
  ctx: OpsContext,
  journal: WriteJournal,
  schema: TableSchema,
  inputs: WriteInput[],
): Promise<{ id: string; fields: Record<string, unknown> }[]> {
  const ids = inputs.map((i) => i.id!);
  const touched =
    journal.op === 'update'
      ? [...new Set(inputs.flatMap((i) => Object.keys(i.fields ?? {})).map((k) => fieldName(schema, k)))]
      : undefined;
  const found = await readByIds(ctx, journal.base_id, journal.table_id, ids, touched);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length) {
    throw new WriteError(
      `No record ${missing.join(', ')} in "${journal.table_name}": nothing was changed in this chunk.`,
      false,
    );
  }
  return ids.map((id) => {
    const record = found.get(id)!;
    if (!touched) return { id, fields: record.fields };
    const fields: Record<string, unknown> = {};
    for (const name of touched) fields[name] = record.fields[name] ?? null;
    return { id, fields };
  });
}

/** Only the primary field: enough to tell whether records exist. */
function primaryName(schema: TableSchema): string[] | undefined {
  const first = (schema.fields.find((f) => f.id === schema.primaryFieldId) ?? schema.fields[0])?.name;
  return first ? [first] : undefined;
}

function fieldName(schema: TableSchema, key: string): string {
  const lower = key.toLowerCase();
  return (
    schema.fields.find((f) => f.id === key || f.name === key)?.name ??
    schema.fields.find((f) => f.name.toLowerCase() === lower)?.name ??
    key
  );
}

/* ------------------------------------------------------------------ recovery */

/** A chunk whose answer was lost: find out what it did before anything is re-sent. */
async function recoverChunk(
  ctx: OpsContext,
  journal: WriteJournal,
  chunk: Chunk,
  schema: TableSchema,
): Promise<void> {
  if (journal.op === 'update') return; // Re-sending the same values is harmless; previous values are kept.
  const inputs = chunk.inputs ?? [];
  if (journal.op === 'delete') {
    const still = await readByIds(
      ctx,
      journal.base_id,
      journal.table_id,
      inputs.map((i) => i.id!),
      primaryName(schema),
    );
    const gone = inputs.filter((i) => !still.has(i.id!));
    chunk.written = [...(chunk.written ?? []), ...gone.map((i) => ({ index: i.index, id: i.id! }))];
    chunk.inputs = inputs.filter((i) => still.has(i.id!));
  } else {
    const adopted = await findCreated(ctx, journal, chunk, schema);
    chunk.written = [...(chunk.written ?? []), ...adopted];
    const taken = new Set(adopted.map((a) => a.index));
    chunk.inputs = inputs.filter((i) => !taken.has(i.index));
  }
  if (!chunk.inputs.length) {
    chunk.status = 'done';
    chunk.failures = [];
    if (journal.op === 'create') delete chunk.inputs;
  }
  await ctx.save(journal);
}

/**
 * Records this chunk created before its answer was lost: created since it
 * was sent, with the values it sent, and not already claimed by another chunk.
 */
async function findCreated(
  ctx: OpsContext,
  journal: WriteJournal,
  chunk: Chunk,
  schema: TableSchema,
): Promise<WrittenRecord[]> {
  const since = new Date(Date.parse(chunk.started_at ?? new Date(0).toISOString()) - CREATED_SKEW_MS);
  const formula = `IS_AFTER(CREATED_TIME(), DATETIME_PARSE('${since.toISOString()}'))`;
  const candidates = await listRecords(ctx, journal.base_id, journal.table_id, formula);
  const claimed = new Set(journal.chunks.flatMap((c) => (c.written ?? []).map((w) => w.id)));
  const pool = candidates
    .filter((c) => !claimed.has(c.id))
    .sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.id.localeCompare(b.id));
  const adopted: WrittenRecord[] = [];
  for (const input of chunk.inputs ?? []) {
    const at = pool.findIndex((c) => sameValues(schema, input.fields ?? {}, c.fields, journal.typecast));
    if (at < 0) continue;
    const [match] = pool.splice(at, 1);
    adopted.push({ index: input.index, id: match!.id, ...(input.ref ? { ref: input.ref } : {}) });
  }
  return adopted;
}

/** Whether a stored record holds the values a create sent (loosely: typecast may have converted them). */
function sameValues(
  schema: TableSchema,
  sent: Record<string, unknown>,
  stored: Record<string, unknown>,
  typecast: boolean,
): boolean {
  for (const [key, value] of Object.entries(sent)) {
    const name = fieldName(schema, key);
    const have = stored[name];
    if (value === null || value === undefined || value === '' || value === false) {
      if (!isEmpty(have)) return false;
      continue;
    }
    if (Array.isArray(value)) {
      if (!Array.isArray(have)) return false;
      const want = value.map(scalarKey).sort();
      const got = have.map(scalarKey).sort();
      if (want.join('\u0000') !== got.join('\u0000')) return false;
      continue;
    }
    if (typeof value === 'object') continue; // attachments, collaborators: not compared
    if (
      typecast
        ? String(value).trim() !== String(scalarKey(have)).trim()
        : scalarKey(value) !== scalarKey(have)
    ) {
      return false;
    }
  }
  return true;
}

function scalarKey(value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as { id?: unknown; name?: unknown; email?: unknown };
    return String(v.id ?? v.name ?? v.email ?? JSON.stringify(value));
  }
  return String(value);
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    value === false ||
    (Array.isArray(value) && !value.length)
  );
}

/* ------------------------------------------------------------------ undo */

/**
 * Undoes a write (or what a lost attempt of it did), chunk by chunk in
 * reverse. Idempotent: what was already undone is not undone twice, and the
 * undo's own progress is saved in `undo` as it goes.
 */
export async function undoWrite(
  ctx: OpsContext,
  journal: WriteJournal,
  undo: UndoJournal,
  saveUndo: (undo: UndoJournal) => Promise<void>,
): Promise<UndoJournal> {
  const schema = await ctx.schemas.table(journal.base_id, journal.table_id, ctx.signal);
  // First settle chunks whose answer was lost, so their records are undone too.
  for (const chunk of journal.chunks) {
    if (chunk.status === 'sending') await recoverChunk(ctx, journal, chunk, schema);
  }
  const chunks = journal.chunks.filter((c) => c.status !== 'planned').reverse();
  if (journal.op === 'create') return undoCreate(ctx, journal, chunks, schema, undo, saveUndo);
  if (journal.op === 'update') return undoUpdate(ctx, journal, chunks, undo, saveUndo);
  return undoDelete(ctx, journal, chunks, schema, undo, saveUndo);
}

async function undoCreate(
  ctx: OpsContext,
  journal: WriteJournal,
  chunks: Chunk[],
  schema: TableSchema,
  undo: UndoJournal,
  saveUndo: (undo: UndoJournal) => Promise<void>,
): Promise<UndoJournal> {
  const done = new Set(undo.deleted ?? []);
  const ids = chunks
    .flatMap((c) => (c.written ?? []).map((w) => w.id).reverse())
    .filter((id) => !done.has(id));
  for (let i = 0; i < ids.length; i += CHUNK) {
    const slice = ids.slice(i, i + CHUNK);
    const still = await readByIds(ctx, journal.base_id, journal.table_id, slice, primaryName(schema));
    const present = slice.filter((id) => still.has(id));
    if (present.length) {
      const outcome = await deleteIds(
        ctx,
        journal,
        present.map((id, index) => ({ index, id })),
      );
      if (outcome.failures.length || outcome.unknown.length) {
        throw new WriteError(
          `Could not delete ${outcome.failures.map((f) => f.id ?? `#${f.index}`).join(', ')}`,
          true,
        );
      }
    }
    undo.deleted = [...(undo.deleted ?? []), ...slice];
    await saveUndo(undo);
  }
  return undo;
}

async function undoUpdate(
  ctx: OpsContext,
  journal: WriteJournal,
  chunks: Chunk[],
  undo: UndoJournal,
  saveUndo: (undo: UndoJournal) => Promise<void>,
): Promise<UndoJournal> {
  const done = new Set(undo.restored ?? []);
  for (const chunk of chunks) {
    const previous = (chunk.previous ?? []).filter((p) => !done.has(p.id));
    if (!previous.length) continue;
    const result = await callBatch(ctx, 'batch_update_records', {
      base_id: journal.base_id,
      table_id: journal.table_id,
      records: previous.map((p) => ({ id: p.id, fields: p.fields })),
      typecast: false,
    });
    const outcome = batchOutcome(
      result,
      previous.map((p, index) => ({ index, id: p.id })),
    );
    if (outcome.failures.length || outcome.unknown.length) {
      throw new WriteError(
        `Could not restore ${outcome.failures.map((f) => `${f.id}: ${f.error}`).join('; ')}`,
        true,
      );
    }
    undo.restored = [...(undo.restored ?? []), ...previous.map((p) => p.id)];
    await saveUndo(undo);
  }
  return undo;
}

/** Re-creates deleted records with their writable fields; Airtable gives them new ids. */
async function undoDelete(
  ctx: OpsContext,
  journal: WriteJournal,
  chunks: Chunk[],
  schema: TableSchema,
  undo: UndoJournal,
  saveUndo: (undo: UndoJournal) => Promise<void>,
): Promise<UndoJournal> {
  if (!undo.recreate) {
    const deleted = new Set(chunks.flatMap((c) => (c.written ?? []).map((w) => w.id)));
    const previous = chunks
      .flatMap((c) => c.previous ?? [])
      .filter((p) => deleted.has(p.id))
      .reverse();
    const writable = writableFields(schema);
    const records = previous.map((p, index) => ({
      index,
      ref: p.id,
      fields: pickWritable(p.fields, writable),
    }));
    undo.recreate = records.length
      ? await planWrite(ctx, { op: 'create', baseId: journal.base_id, table: journal.table_id, records })
      : { ...journal, op: 'create', chunks: [] };
    undo.note =
      'Deleted records were re-created with their values; Airtable gave them new ids (see recreated).';
    await saveUndo(undo);
  }
  const journalCtx: OpsContext = {
    ...ctx,
    save: async (j) => {
      undo.recreate = j;
      await saveUndo(undo);
    },
  };
  const summary = await runWrite(journalCtx, undo.recreate);
  undo.recreated = summary.records.map((r) => ({ old_id: r.ref!, new_id: r.id }));
  await saveUndo(undo);
  return undo;
}

function writableFields(schema: TableSchema): Map<string, FieldSchema> {
  return new Map(schema.fields.filter((f) => !isComputed(f)).map((f) => [f.name, f]));
}

/** A record's values as a create accepts them: computed fields dropped, attachments by URL. */
function pickWritable(
  fields: Record<string, unknown>,
  writable: Map<string, FieldSchema>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const field = writable.get(name);
    if (!field) continue;
    if (field.type === 'multipleAttachments' && Array.isArray(value)) {
      out[name] = value.map((a: { url?: string; filename?: string }) => ({
        url: a.url,
        filename: a.filename,
      }));
    } else if ((field.type === 'singleCollaborator' || field.type === 'multipleCollaborators') && value) {
      out[name] = Array.isArray(value)
        ? value.map((c: { id?: string; email?: string }) => (c.id ? { id: c.id } : { email: c.email }))
        : { id: (value as { id?: string }).id };
    } else out[name] = value;
  }
  return out;
}
