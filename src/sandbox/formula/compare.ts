import { parseDateText } from './dates.js';
import {
  type FormulaValue,
  flattenDeep,
  formatNumber,
  isBlank,
  toNumber,
  toText,
  unwrapSingle,
} from './values.js';

type Scalar = string | number | boolean | null | Date;

/** Arrays compare by their string form (", "-joined) unless they hold a single value. */
function scalarOf(v: FormulaValue): Scalar {
  const u = unwrapSingle(v);
  if (Array.isArray(u)) return isBlank(u) ? null : toText(flattenDeep(u));
  return u as Scalar;
}

function asDate(v: Scalar, zone: string): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return parseDateText(v, zone)?.getTime();
  return undefined;
}

/**
 * BLANK equals "", BLANK and false, but not 0: filters like `{Count}=BLANK()` should find empty cells,
 * not cells holding 0 (Airtable's own behaviour here is undocumented).
 */
function blankEquals(v: Scalar): boolean {
  return v === null || v === '' || v === false;
}

/** `=`: case-sensitive for text; text vs number compares the number's string form; dates parse ISO text. */
export function formulaEquals(left: FormulaValue, right: FormulaValue, zone: string): boolean {
  const a = scalarOf(left);
  const b = scalarOf(right);
  if (a === null) return blankEquals(b);
  if (b === null) return blankEquals(a);
  if (a instanceof Date || b instanceof Date) {
    const da = asDate(a, zone);
    return da !== undefined && da === asDate(b, zone);
  }
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a === 'string') return a === formatNumber(toNumber(b));
  if (typeof b === 'string') return b === formatNumber(toNumber(a));
  return toNumber(a) === toNumber(b);
}

/**
 * `< > <= >=`: dates by instant, two texts by code units, otherwise numerically (BLANK is 0).
 * Returns undefined when the sides cannot be ordered, which makes every ordering comparison false.
 */
export function formulaCompare(left: FormulaValue, right: FormulaValue, zone: string): number | undefined {
  const a = scalarOf(left);
  const b = scalarOf(right);
  if (a instanceof Date || b instanceof Date) {
    const da = asDate(a, zone);
    const db = asDate(b, zone);
    return da === undefined || db === undefined ? undefined : da - db;
  }
  if (typeof a === 'string' && (typeof b === 'string' || b === null)) return textOrder(a, b ?? '');
  if (typeof b === 'string' && a === null) return textOrder('', b);
  const na = toNumber(a);
  const nb = toNumber(b);
  return Number.isNaN(na) || Number.isNaN(nb) ? undefined : na - nb;
}

function textOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
