import {
  DIV_ZERO_CODE,
  errorValue,
  type FormulaValue,
  flattenDeep,
  isBlank,
  parseNumericText,
  toNumber,
} from '../values.js';
import { arg, eager, type FunctionTable, MANY, optional } from './types.js';

const number = (args: readonly FormulaValue[], i: number): number => toNumber(arg(args, i));

type Rounder = (x: number) => number;

/**
 * Rounds |value| at `digits` decimals with `rounder`, then restores the sign. Scaling through
 * toPrecision(15) removes binary noise so ROUND(1.005, 2) is 1.01 as a person expects.
 */
function roundWith(value: number, digits: FormulaValue | undefined, rounder: Rounder): number {
  const places = digits === undefined ? 0 : Math.trunc(toNumber(digits));
  const factor = 10 ** Math.abs(places);
  const abs = Math.abs(value);
  const scaled = Number((places >= 0 ? abs * factor : abs / factor).toPrecision(15));
  const rounded = rounder(scaled);
  const result = places >= 0 ? rounded / factor : rounded * factor;
  return (value < 0 ? -result : result) + 0;
}

function toMultiple(value: number, significance: FormulaValue | undefined, rounder: Rounder): number {
  const step = significance === undefined ? 1 : toNumber(significance);
  if (step === 0) return 0;
  return rounder(Number((value / step).toPrecision(15))) * step;
}

/** Numbers among the (flattened) arguments: numeric text counts, blanks and other text are skipped. */
function numericItems(args: readonly FormulaValue[]): number[] {
  const out: number[] = [];
  for (const item of flattenDeep(args as FormulaValue[])) {
    if (typeof item === 'number') out.push(item);
    else if (typeof item === 'boolean') out.push(item ? 1 : 0);
    else if (typeof item === 'string') {
      const n = parseNumericText(item);
      if (n !== undefined) out.push(n);
    }
  }
  return out;
}

const sum = (items: number[]): number => items.reduce((total, n) => total + n, 0);

export const NUMERIC_FUNCTIONS: FunctionTable = {
  ABS: eager(1, 1, (args) => Math.abs(number(args, 0))),
  ROUND: eager(1, 2, (args) => roundWith(number(args, 0), optional(args, 1), Math.round)),
  ROUNDUP: eager(1, 2, (args) => roundWith(number(args, 0), optional(args, 1), Math.ceil)),
  ROUNDDOWN: eager(1, 2, (args) => roundWith(number(args, 0), optional(args, 1), Math.floor)),
  INT: eager(1, 1, (args) => Math.floor(number(args, 0))),
  // JavaScript remainder: the sign follows the dividend (MOD(-7, 3) = -1); Airtable does not document it.
  MOD: eager(2, 2, (args) => {
    const divisor = number(args, 1);
    return divisor === 0 ? errorValue(DIV_ZERO_CODE) : number(args, 0) % divisor;
  }),
  CEILING: eager(1, 2, (args) => toMultiple(number(args, 0), optional(args, 1), Math.ceil)),
  FLOOR: eager(1, 2, (args) => toMultiple(number(args, 0), optional(args, 1), Math.floor)),
  POWER: eager(2, 2, (args) => number(args, 0) ** number(args, 1)),
  SQRT: eager(1, 1, (args) => Math.sqrt(number(args, 0))),
  MAX: eager(1, MANY, (args) => {
    const items = numericItems(args);
    return items.length === 0 ? 0 : items.reduce((a, b) => Math.max(a, b));
  }),
  MIN: eager(1, MANY, (args) => {
    const items = numericItems(args);
    return items.length === 0 ? 0 : items.reduce((a, b) => Math.min(a, b));
  }),
  SUM: eager(1, MANY, (args) => sum(numericItems(args))),
  AVERAGE: eager(1, MANY, (args) => {
    const items = numericItems(args);
    return items.length === 0 ? errorValue(DIV_ZERO_CODE) : sum(items) / items.length;
  }),
  COUNT: eager(1, MANY, (args) => flattenDeep(args).filter((v) => typeof v === 'number').length),
  COUNTA: eager(1, MANY, (args) => flattenDeep(args).filter((v) => !isBlank(v)).length),
  COUNTALL: eager(1, MANY, (args) => flattenDeep(args).length),
};
