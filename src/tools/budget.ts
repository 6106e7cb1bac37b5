/**
 * The response budget, enforced once for every tool. Tools still fit their
 * lists to `maxResponseChars` themselves (they know how to continue: an
 * offset, ids only, the first N groups); this is the guarantee behind them.
 * Whatever a tool returns, neither the text nor the structured part of the
 * result is larger than the budget, and a result that had to be cut says so:
 * `truncated: true` in the structured part and a closing note in the text.
 *
 * Cutting keeps the structured part valid for the tool's output schema: long
 * strings are shortened first (with the same marker `clipRecord` uses), then
 * list items are left out from the end, then cells of record-like `fields`
 * objects. Short strings (ids, names, enum values) are never touched.
 */
import type { ToolResult } from './define.js';
import { compactJson } from './format.js';

/** Strings at most this long are never shortened: ids, names, enum values, dates. */
const KEEP_CHARS = 64;
/** Text lines at most this long are never shortened. */
const KEEP_LINE = 120;
/** A string is only shortened when that saves more than its marker costs. */
const CLIP_SLACK = 60;
/** Room kept for the closing note and the `truncated` flag. */
const NOTE_RESERVE = 320;

interface Cuts {
  strings: number;
  items: number;
  cells: number;
  lines: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

/**
 * The result as it may be sent: unchanged when it fits, else cut to
 * `maxChars` (text and structured part each) and marked as truncated.
 */
export function applyResponseBudget<S>(result: ToolResult<S>, maxChars: number): ToolResult<S> {
  const structuredSize = compactJson(result.structured).length;
  if (result.text.length <= maxChars && structuredSize <= maxChars) return result;
  const cuts: Cuts = { strings: 0, items: 0, cells: 0, lines: 0 };
  const limit = Math.max(200, maxChars - NOTE_RESERVE);
  const structured =
    structuredSize > maxChars
      ? shrinkJson(toJson(result.structured), limit, cuts)
      : toJson(result.structured);
  const note = budgetNote(maxChars, cuts, structuredSize > maxChars);
  const text = `${shrinkText(result.text, Math.max(200, maxChars - note.length - 1), cuts)}\n${note}`;
  return { ...result, text, structured: markTruncated(structured) as S };
}

/** A deep copy with exactly what JSON carries (the structured part is sent as JSON anyway). */
function toJson(value: unknown): Json {
  return JSON.parse(compactJson(value)) as Json;
}

function markTruncated(value: Json): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return { ...value, truncated: true };
}

function budgetNote(maxChars: number, cuts: Cuts, structuredCut: boolean): string {
  const what = [
    cuts.strings && `${cuts.strings} long value${cuts.strings === 1 ? '' : 's'} shortened`,
    cuts.items && `${cuts.items} list item${cuts.items === 1 ? '' : 's'} left out`,
    cuts.cells && `${cuts.cells} cell${cuts.cells === 1 ? '' : 's'} left out`,
    cuts.lines && `${cuts.lines} line${cuts.lines === 1 ? '' : 's'} of text left out`,
  ].filter(Boolean);
  const where = structuredCut ? 'text and structured result' : 'text';
  return (
    `[Response cut to fit its ${maxChars}-character limit (--max-response-tokens; ${where}): ` +
    `${what.join(', ') || 'long text shortened'}. Ask for fewer fields or records to see the rest.]`
  );
}

function clipString(value: string, keep: number): string {
  return `${value.slice(0, keep)}… [${value.length - keep} characters cut to fit the response]`;
}

/** Every string leaf, with the container and key that hold it. */
function stringSlots(root: Json): { holder: Container; key: string | number; length: number }[] {
  const slots: { holder: Container; key: string | number; length: number }[] = [];
  const visit = (node: Json) => {
    if (node === null || typeof node !== 'object') return;
    const entries: [string | number, Json][] = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    for (const [key, child] of entries) {
      if (typeof child === 'string') {
        if (child.length > KEEP_CHARS) slots.push({ holder: node, key, length: child.length });
      } else visit(child);
    }
  };
  visit(root);
  return slots;
}

function setSlot(holder: Container, key: string | number, value: Json): void {
  (holder as Record<string | number, Json>)[key] = value;
}

function getSlot(holder: Container, key: string | number): Json {
  return (holder as Record<string | number, Json>)[key] as Json;
}

/**
 * The structured part cut to `limit` characters of JSON. A wrapper holds
 * the root so that a string or array at the top is cut like any other.
 */
function shrinkJson(value: Json, limit: number, cuts: Cuts): Json {
  const wrapper: Json[] = [value];
  const size = () => compactJson(wrapper[0]).length;
  shortenStrings(wrapper, size, limit, cuts);
  if (size() > limit) dropListItems(wrapper, size, limit, cuts);
  if (size() > limit) dropCells(wrapper, size, limit, cuts);
  return wrapper[0] as Json;
}

/**
 * Shortens every string longer than a common cap to that cap, choosing the
 * largest cap (by bisection) that brings the total under `limit`; each
 * string keeps at least KEEP_CHARS characters.
 */
function shortenStrings(root: Json[], size: () => number, limit: number, cuts: Cuts): void {
  const slots = stringSlots(root).map((s) => ({ ...s, original: getSlot(s.holder, s.key) as string }));
  if (!slots.length) return;
  const apply = (cap: number) => {
    let clipped = 0;
    for (const slot of slots) {
      const cut = slot.length > cap + CLIP_SLACK;
      setSlot(slot.holder, slot.key, cut ? clipString(slot.original, cap) : slot.original);
      if (cut) clipped++;
    }
    return clipped;
  };
  let low = KEEP_CHARS;
  let high = Math.max(...slots.map((s) => s.length));
  const atFloor = apply(low);
  if (size() > limit) {
    cuts.strings += atFloor;
    return;
  }
  // The largest cap that fits lies in [low, high).
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    apply(mid);
    if (size() <= limit) low = mid;
    else high = mid;
  }
  cuts.strings += apply(low);
}

/** Containers of the tree, children before parents' later siblings (document order). */
function containers(root: Json): Container[] {
  const found: Container[] = [];
  const visit = (node: Json) => {
    if (node === null || typeof node !== 'object') return;
    found.push(node);
    for (const child of Array.isArray(node) ? node : Object.values(node)) visit(child);
  };
  visit(root);
  return found;
}

/** Leaves out items from the end of the largest lists until the total fits. */
function dropListItems(root: Json[], size: () => number, limit: number, cuts: Cuts): void {
  const lists = () =>
    containers(root[0] as Json)
      .filter((c): c is Json[] => Array.isArray(c) && c.length > 0)
      .map((list) => ({ list, chars: compactJson(list).length }))
      .sort((a, b) => b.chars - a.chars);
  for (let round = 0; round < 50 && size() > limit; round++) {
    const largest = lists()[0];
    if (!largest) return;
    let over = size() - limit;
    while (over > 0 && largest.list.length > 0) {
      over -= compactJson(largest.list.pop()).length + 1;
      cuts.items++;
    }
  }
}

/** Leaves out the last cells of the largest record `fields` objects (cell maps, not schema-bound keys). */
function dropCells(root: Json[], size: () => number, limit: number, cuts: Cuts): void {
  const maps = containers(root[0] as Json).flatMap((c) => {
    if (Array.isArray(c)) return [];
    const fields = c.fields;
    return fields && typeof fields === 'object' && !Array.isArray(fields) ? [fields] : [];
  });
  maps.sort((a, b) => compactJson(b).length - compactJson(a).length);
  for (const map of maps) {
    let over = size() - limit;
    for (const key of Object.keys(map).reverse()) {
      if (over <= 0) return;
      over -= compactJson({ [key]: map[key] }).length;
      delete map[key];
      cuts.cells++;
    }
  }
}

/** The text cut to `limit`: the longest lines shortened first (to a common cap), then lines left out from the end. */
function shrinkText(text: string, limit: number, cuts: Cuts): string {
  if (text.length <= limit) return text;
  const originals = text.split('\n');
  let lines = originals;
  const total = () => lines.reduce((sum, line) => sum + line.length + 1, -1);
  const capped = (cap: number) =>
    originals.map((line) => (line.length > cap + CLIP_SLACK ? clipString(line, cap) : line));
  let low = KEEP_LINE;
  let high = Math.max(...originals.map((l) => l.length));
  lines = capped(low);
  if (total() <= limit) {
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      lines = capped(mid);
      if (total() <= limit) low = mid;
      else high = mid;
    }
    lines = capped(low);
  }
  cuts.strings += lines.filter((line, i) => line !== originals[i]).length;
  let dropped = 0;
  while (lines.length > 1 && total() > limit - CLIP_SLACK) {
    lines.pop();
    dropped++;
  }
  if (dropped) {
    cuts.lines += dropped;
    lines.push(`… [${dropped} more line${dropped === 1 ? '' : 's'} cut to fit the response]`);
  }
  const joined = lines.join('\n');
  // A single line still too long (no line breaks to work with): cut it outright.
  return joined.length <= limit ? joined : clipString(joined, Math.max(0, limit - CLIP_SLACK));
}
