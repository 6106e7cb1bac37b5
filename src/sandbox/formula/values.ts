export type FormulaValue = string | number | boolean | null | Date | FormulaValue[] | FormulaErrorValue;

/** A runtime error: it affects only the row being evaluated. */
export interface FormulaErrorValue {
  error: string;
}

export const ERROR_CODE = '#ERROR!';
export const DIV_ZERO_CODE = '#DIV/0!';

/** Text results beyond this are errors, so REPT/SUBSTITUTE/& cannot be used to exhaust memory. */
export const MAX_TEXT_LENGTH = 1_000_000;

/** Thrown by helpers deep inside evaluation; turned into an error value at the nearest call or the root. */
export class EvalFailure extends Error {
  constructor(readonly code: string = ERROR_CODE) {
    super(code);
  }
}

export function fail(code: string = ERROR_CODE): never {
  throw new EvalFailure(code);
}

export function errorValue(code: string = ERROR_CODE): FormulaErrorValue {
  return { error: code };
}

export function toErrorValue(e: unknown): FormulaErrorValue {
  return errorValue(e instanceof EvalFailure ? e.code : ERROR_CODE);
}

export function isErrorValue(v: FormulaValue | undefined): v is FormulaErrorValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function isBlank(v: FormulaValue): boolean {
  if (v === null || v === '') return true;
  return Array.isArray(v) && v.every(isBlank);
}

/** Airtable filter truthiness: 0, false, "", NaN, empty (or all-blank) arrays, BLANK and errors exclude a row. */
export function isTruthy(value: FormulaValue): boolean {
  if (value === null) return false;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return value !== 0 && !Number.isNaN(value);
    case 'string':
      return value !== '';
  }
  if (Array.isArray(value)) return !isBlank(value);
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  return false;
}

export function flattenDeep(v: FormulaValue): FormulaValue[] {
  if (!Array.isArray(v)) return [v];
  const out: FormulaValue[] = [];
  const stack: FormulaValue[] = [...v].reverse();
  while (stack.length > 0) {
    const item = stack.pop() as FormulaValue;
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push(item[i] as FormulaValue);
    } else {
      out.push(item);
    }
  }
  return out;
}

/** A scalar view of a value: single-element arrays unwrap (lookups of one value behave like that value). */
export function unwrapSingle(v: FormulaValue): FormulaValue {
  if (!Array.isArray(v)) return v;
  if (v.length === 0) return null;
  return v.length === 1 ? unwrapSingle(v[0] as FormulaValue) : v;
}

export function checkTextLength(s: string): string {
  if (s.length > MAX_TEXT_LENGTH) fail();
  return s;
}

export function formatNumber(n: number): string {
  return String(n);
}

/** String context: BLANK is "", booleans are 1/0 (Airtable's TRUE() is 1), arrays join with ", ". */
export function toText(v: FormulaValue): string {
  if (v === null) return '';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatNumber(v);
    case 'boolean':
      return v ? '1' : '0';
  }
  if (Array.isArray(v)) return checkTextLength(flattenDeep(v).map(toText).join(', '));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? fail() : v.toISOString();
  return fail(v.error);
}

const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function parseNumericText(s: string): number | undefined {
  const t = s.trim();
  return NUMERIC_TEXT.test(t) ? Number(t) : undefined;
}

/** Numeric context: BLANK and "" are 0, booleans 1/0, non-numeric text NaN. */
export function toNumber(v: FormulaValue): number {
  const u = unwrapSingle(v);
  if (u === null) return 0;
  switch (typeof u) {
    case 'number':
      return u;
    case 'boolean':
      return u ? 1 : 0;
    case 'string':
      return u.trim() === '' ? 0 : (parseNumericText(u) ?? Number.NaN);
  }
  if (u instanceof Date) return u.getTime();
  if (Array.isArray(u)) return parseNumericText(toText(u)) ?? Number.NaN;
  return fail(u.error);
}
