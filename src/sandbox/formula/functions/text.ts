import {
  checkTextLength,
  type FormulaValue,
  fail,
  MAX_TEXT_LENGTH,
  parseNumericText,
  toNumber,
  toText,
} from '../values.js';
import { arg, eager, type FunctionTable, MANY, optional } from './types.js';

const text = (args: readonly FormulaValue[], i: number): string => toText(arg(args, i));
const count = (args: readonly FormulaValue[], i: number): number =>
  Math.max(0, Math.trunc(toNumber(arg(args, i))));

/** 1-based position of `needle` at or after `start`, or 0. */
function position(needle: string, haystack: string, start: FormulaValue | undefined): number {
  const from = start === undefined ? 0 : Math.max(0, Math.trunc(toNumber(start)) - 1);
  return haystack.indexOf(needle, from) + 1;
}

function substitute(
  source: string,
  old: string,
  replacement: string,
  which: FormulaValue | undefined,
): string {
  if (old === '') return source;
  if (which === undefined) {
    const parts = source.split(old);
    if ((parts.length - 1) * replacement.length + source.length > MAX_TEXT_LENGTH) fail();
    return parts.join(replacement);
  }
  const nth = Math.trunc(toNumber(which));
  let at = -1;
  for (let seen = 0; seen < nth; seen++) {
    at = source.indexOf(old, at + 1);
    if (at < 0) return source;
  }
  return at < 0 ? source : source.slice(0, at) + replacement + source.slice(at + old.length);
}

function repeat(s: string, times: number): string {
  if (times < 0 || Number.isNaN(times)) fail();
  if (s.length * times > MAX_TEXT_LENGTH) fail();
  return s.repeat(times);
}

/** VALUE: tolerates currency symbols, thousands separators and a trailing percent sign. */
function parseValue(v: FormulaValue): FormulaValue {
  if (typeof v === 'number') return v;
  const raw = toText(v).replace(/[\s,$€£¥]/g, '');
  const percent = raw.endsWith('%');
  const n = parseNumericText(percent ? raw.slice(0, -1) : raw);
  if (n === undefined) return null;
  return percent ? n / 100 : n;
}

export const TEXT_FUNCTIONS: FunctionTable = {
  FIND: eager(2, 3, (args) => position(text(args, 0), text(args, 1), optional(args, 2))),
  // SEARCH differs from FIND twice over: it ignores case and answers BLANK rather than 0 when absent.
  SEARCH: eager(2, 3, (args) => {
    const found = position(text(args, 0).toLowerCase(), text(args, 1).toLowerCase(), optional(args, 2));
    return found === 0 ? null : found;
  }),
  LOWER: eager(1, 1, (args) => text(args, 0).toLowerCase()),
  UPPER: eager(1, 1, (args) => text(args, 0).toUpperCase()),
  LEN: eager(1, 1, (args) => text(args, 0).length),
  TRIM: eager(1, 1, (args) => text(args, 0).trim()),
  LEFT: eager(2, 2, (args) => text(args, 0).slice(0, count(args, 1))),
  RIGHT: eager(2, 2, (args) => {
    const s = text(args, 0);
    return s.slice(Math.max(0, s.length - count(args, 1)));
  }),
  MID: eager(3, 3, (args) => {
    const start = Math.max(0, Math.trunc(toNumber(arg(args, 1))) - 1);
    return text(args, 0).slice(start, start + count(args, 2));
  }),
  CONCATENATE: eager(1, MANY, (args) => checkTextLength(args.map(toText).join(''))),
  SUBSTITUTE: eager(3, 4, (args) =>
    substitute(text(args, 0), text(args, 1), text(args, 2), optional(args, 3)),
  ),
  REPLACE: eager(4, 4, (args) => {
    const s = text(args, 0);
    const start = Math.max(0, Math.trunc(toNumber(arg(args, 1))) - 1);
    return checkTextLength(s.slice(0, start) + text(args, 3) + s.slice(start + count(args, 2)));
  }),
  REPT: eager(2, 2, (args) => repeat(text(args, 0), Math.trunc(toNumber(arg(args, 1))))),
  T: eager(1, 1, (args) => {
    const v = arg(args, 0);
    return typeof v === 'string' ? v : '';
  }),
  VALUE: eager(1, 1, (args) => parseValue(arg(args, 0))),
  ENCODE_URL_COMPONENT: eager(1, 1, (args) => encodeURIComponent(text(args, 0))),
};
