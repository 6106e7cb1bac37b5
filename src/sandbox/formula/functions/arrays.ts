import { checkTextLength, type FormulaValue, flattenDeep, toNumber, toText } from '../values.js';
import { arg, eager, type FunctionTable, optional } from './types.js';

/** A scalar where an array is expected behaves as a one-element array; BLANK as an empty one. */
function asArray(v: FormulaValue): FormulaValue[] {
  if (Array.isArray(v)) return v;
  return v === null ? [] : [v];
}

function identity(v: FormulaValue): string {
  if (v instanceof Date) return `d:${v.getTime()}`;
  return `${typeof v}:${toText(v)}`;
}

function unique(values: FormulaValue[]): FormulaValue[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = identity(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** ARRAYSLICE positions are 1-based and the end is inclusive; negative positions count from the end. */
function slice(values: FormulaValue[], start: number, end: FormulaValue | undefined): FormulaValue[] {
  const from = start >= 1 ? start - 1 : start === 0 ? 0 : Math.max(0, values.length + start);
  if (end === undefined) return values.slice(from);
  const last = Math.trunc(toNumber(end));
  return values.slice(from, last >= 0 ? last : values.length + last + 1);
}

export const ARRAY_FUNCTIONS: FunctionTable = {
  ARRAYJOIN: eager(1, 2, (args) => {
    const separator = optional(args, 1);
    const items = flattenDeep(asArray(arg(args, 0))).map(toText);
    return checkTextLength(items.join(separator === undefined ? ', ' : toText(separator)));
  }),
  ARRAYUNIQUE: eager(1, 1, (args) => unique(flattenDeep(asArray(arg(args, 0))))),
  // Airtable documents ARRAYCOMPACT as dropping empty strings and nulls but keeping false and whitespace.
  ARRAYCOMPACT: eager(1, 1, (args) =>
    flattenDeep(asArray(arg(args, 0))).filter((v) => v !== null && v !== ''),
  ),
  ARRAYFLATTEN: eager(1, 1, (args) => flattenDeep(asArray(arg(args, 0)))),
  ARRAYSLICE: eager(2, 3, (args) =>
    slice(asArray(arg(args, 0)), Math.trunc(toNumber(arg(args, 1))), optional(args, 2)),
  ),
};
