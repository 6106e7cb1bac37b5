/**
 * Per-field statistics and data-quality findings for analyze_table_data.
 * Pure functions over the cells of one field, so they are easy to test and
 * the tool itself only reads records and renders.
 */

import {
  DATE_FIELD_TYPES,
  LIST_FIELD_TYPES,
  NUMBER_FIELD_TYPES,
  TEXT_FIELD_TYPES,
} from '../airtable/field-types.js';
import type { FieldSchema } from '../airtable/types.js';
import { isEmptyCell, valueType } from './cells.js';
import { clip, compactJson } from './format.js';
import { normalizeText } from './normalize.js';

/** How many select values a distribution lists. */
export const TOP_CHOICES = 20;

export interface FieldStats {
  name: string;
  type: string;
  filled: number;
  empty: number;
  /** Share of analysed records with a value, 0..1. */
  fill_rate: number;
  numbers?: { min: number; max: number; mean: number; median: number; zeros: number };
  text_length?: { min: number; max: number; mean: number };
  /** Most frequent values first, at most TOP_CHOICES. */
  choices?: { value: string; count: number }[];
  distinct?: number;
  true_count?: number;
  dates?: { min: string; max: string };
  /** Links, options, attachments or collaborators per record (over all analysed records). */
  items_per_record?: { mean: number; max: number };
}

export interface FieldAnalysis {
  stats: FieldStats;
  findings: string[];
}

/** Number types where a 0 is more often a placeholder than a measurement. */
const ZERO_SUSPECT_TYPES = new Set(['number', 'currency', 'percent', 'duration']);

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Lookups and rollups can hold lists; statistics look at their items. */
function scalars(values: readonly unknown[]): unknown[] {
  return values.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

/**
 * Statistics for one field over `cells` (one entry per analysed record,
 * undefined when empty) and the findings worth a person's attention.
 */
export function analyzeField(
  field: FieldSchema,
  cells: readonly unknown[],
  isPrimary: boolean,
): FieldAnalysis {
  const values = cells.filter((v) => !isEmptyCell(v));
  const total = cells.length;
  const stats: FieldStats = {
    name: field.name,
    type: field.type,
    filled: values.length,
    empty: total - values.length,
    fill_rate: total ? round(values.length / total) : 0,
  };
  const type = valueType(field);
  const findings = fillFindings(field, stats, isPrimary);
  if (NUMBER_FIELD_TYPES.has(type)) addNumbers(stats, field, scalars(values), findings);
  if (TEXT_FIELD_TYPES.has(type)) addText(stats, field, scalars(values), isPrimary, findings);
  if (type === 'singleSelect' || type === 'multipleSelects')
    addChoices(stats, field, scalars(values), findings);
  if (type === 'checkbox') stats.true_count = values.filter((v) => v === true).length;
  if (DATE_FIELD_TYPES.has(type)) addDates(stats, scalars(values));
  if (LIST_FIELD_TYPES.has(field.type)) addItems(stats, cells);
  return { stats, findings };
}

function fillFindings(field: FieldSchema, stats: FieldStats, isPrimary: boolean): string[] {
  const total = stats.filled + stats.empty;
  if (!total) return [];
  // An unticked checkbox is a value (false), not missing data.
  if (field.type === 'checkbox')
    return stats.filled ? [] : [`${field.name}: never ticked in ${total} records`];
  if (!stats.filled) return [`${field.name}: never filled (empty in all ${total} records)`];
  const label = isPrimary ? `${field.name} (primary field)` : field.name;
  if (!stats.empty) return isPrimary ? [`${label}: filled in all ${total} records`] : [];
  const pct = Math.max(1, Math.round((stats.empty / total) * 100));
  return [`${label}: ${pct}% empty (${stats.empty} of ${total})`];
}

function addNumbers(stats: FieldStats, field: FieldSchema, values: unknown[], findings: string[]): void {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (!numbers.length) return;
  const sorted = [...numbers].sort((a, b) => a - b);
  const zeros = numbers.filter((n) => n === 0).length;
  stats.numbers = {
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: round(mean(numbers)),
    median: round(median(sorted)),
    zeros,
  };
  if (zeros && ZERO_SUSPECT_TYPES.has(field.type)) {
    findings.push(`${field.name}: ${zeros} zero${zeros === 1 ? '' : 's'} (placeholder or real value?)`);
  }
}

function addText(
  stats: FieldStats,
  field: FieldSchema,
  values: unknown[],
  isPrimary: boolean,
  findings: string[],
) {
  const texts = values.filter((v): v is string => typeof v === 'string');
  if (!texts.length) return;
  // Code points, not UTF-16 units, so an emoji counts as one character.
  const lengths = texts.map((t) => [...t].length);
  stats.text_length = { min: Math.min(...lengths), max: Math.max(...lengths), mean: round(mean(lengths), 1) };
  stats.distinct = new Set(texts).size;
  const padded = texts.filter((t) => t !== t.trim()).length;
  if (padded)
    findings.push(
      `${field.name}: ${padded} value${padded === 1 ? ' has' : 's have'} leading/trailing spaces`,
    );
  findings.push(...nearDuplicateFindings(field, texts));
  if (isPrimary) findings.push(...exactDuplicateFindings(field, texts));
}

/** Values equal once case and spacing are ignored, but spelled differently, e.g. "Maria Garcia" / " maria garcia". */
function nearDuplicateFindings(field: FieldSchema, texts: readonly string[]): string[] {
  const spellings = new Map<string, Set<string>>();
  for (const text of texts) {
    const key = normalizeText(text);
    const set = spellings.get(key) ?? new Set<string>();
    set.add(text);
    spellings.set(key, set);
  }
  const groups = [...spellings.values()].filter((s) => s.size > 1);
  if (!groups.length) return [];
  const inGroups = texts.filter((t) => (spellings.get(normalizeText(t))?.size ?? 0) > 1).length;
  const example = [...(groups[0] as Set<string>)]
    .slice(0, 2)
    .map((t) => compactJson(clip(t, 40)))
    .join(' / ');
  return [
    `${field.name}: ${inGroups} values in ${groups.length} group${groups.length === 1 ? '' : 's'} differ only by case/whitespace, e.g. ${example} (find_duplicates lists them)`,
  ];
}

function exactDuplicateFindings(field: FieldSchema, texts: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const repeated = [...counts.values()].filter((c) => c > 1);
  if (!repeated.length) return [];
  const records = repeated.reduce((a, b) => a + b, 0);
  return [`${field.name}: ${repeated.length} value(s) repeated exactly, in ${records} records`];
}

function addChoices(stats: FieldStats, field: FieldSchema, values: unknown[], findings: string[]): void {
  const counts = new Map<string, number>();
  for (const v of values) if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  stats.choices = ranked.slice(0, TOP_CHOICES).map(([value, count]) => ({ value, count }));
  stats.distinct = counts.size;
  const choices = (field.options?.choices as { name?: unknown }[] | undefined) ?? [];
  const unused = choices
    .map((c) => c.name)
    .filter((n): n is string => typeof n === 'string' && !counts.has(n));
  if (unused.length && values.length) {
    const names = unused.slice(0, 5).map((n) => compactJson(n));
    findings.push(
      `${field.name}: option${unused.length === 1 ? '' : 's'} never used: ${names.join(', ')}${unused.length > 5 ? ', …' : ''}`,
    );
  }
}

function addDates(stats: FieldStats, values: unknown[]): void {
  // ISO dates and UTC date-times order correctly as strings.
  const dates = values.filter((v): v is string => typeof v === 'string').sort();
  if (dates.length) stats.dates = { min: dates[0] as string, max: dates[dates.length - 1] as string };
}

function addItems(stats: FieldStats, cells: readonly unknown[]): void {
  if (!cells.length) return;
  const counts = cells.map((v) => (Array.isArray(v) ? v.length : 0));
  stats.items_per_record = { mean: round(mean(counts), 2), max: Math.max(...counts) };
}

/** One compact line per field, e.g. `Estimate Hours (number) 141/160 filled 88% | min 0 max 23.8 …`. */
export function fieldLine(s: FieldStats): string {
  const parts = [
    `${s.name} (${s.type}) ${s.filled}/${s.filled + s.empty} filled ${Math.round(s.fill_rate * 100)}%`,
  ];
  if (s.numbers) {
    const n = s.numbers;
    parts.push(
      `min ${n.min} max ${n.max} mean ${n.mean} median ${n.median}${n.zeros ? ` zeros ${n.zeros}` : ''}`,
    );
  }
  if (s.text_length) {
    const t = s.text_length;
    parts.push(`length ${t.min}-${t.max} mean ${t.mean}; ${s.distinct} distinct`);
  }
  if (s.choices) {
    const more =
      (s.distinct ?? 0) > s.choices.length ? ` (+${(s.distinct ?? 0) - s.choices.length} more)` : '';
    parts.push(s.choices.map((c) => `${c.value}: ${c.count}`).join(', ') + more);
  }
  if (s.true_count !== undefined) parts.push(`${s.true_count} ticked`);
  if (s.dates) parts.push(`${s.dates.min} .. ${s.dates.max}`);
  if (s.items_per_record) parts.push(`${s.items_per_record.mean} per record (max ${s.items_per_record.max})`);
  return parts.join(' | ');
}
