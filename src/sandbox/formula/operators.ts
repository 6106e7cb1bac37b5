import { formulaCompare, formulaEquals } from './compare.js';
import {
  checkTextLength,
  DIV_ZERO_CODE,
  errorValue,
  type FormulaValue,
  isErrorValue,
  toNumber,
  toText,
} from './values.js';

export type BinaryOp = '+' | '-' | '*' | '/' | '&' | '=' | '!=' | '<' | '>' | '<=' | '>=';

type Apply = (a: FormulaValue, b: FormulaValue, zone: string) => FormulaValue;

const ordered =
  (test: (order: number) => boolean): Apply =>
  (a, b, zone) => {
    const order = formulaCompare(a, b, zone);
    return order !== undefined && test(order);
  };

const IMPLEMENTATIONS: Record<BinaryOp, Apply> = {
  '+': (a, b) => toNumber(a) + toNumber(b),
  '-': (a, b) => toNumber(a) - toNumber(b),
  '*': (a, b) => toNumber(a) * toNumber(b),
  '/': (a, b) => {
    const divisor = toNumber(b);
    return divisor === 0 ? errorValue(DIV_ZERO_CODE) : toNumber(a) / divisor;
  },
  '&': (a, b) => checkTextLength(toText(a) + toText(b)),
  '=': (a, b, zone) => formulaEquals(a, b, zone),
  '!=': (a, b, zone) => !formulaEquals(a, b, zone),
  '<': ordered((o) => o < 0),
  '>': ordered((o) => o > 0),
  '<=': ordered((o) => o <= 0),
  '>=': ordered((o) => o >= 0),
};

/** Binary operators propagate the first error operand; otherwise they coerce per Airtable's rules. */
export function binaryOperator(op: BinaryOp): Apply {
  const apply = IMPLEMENTATIONS[op];
  return (a, b, zone) => {
    if (isErrorValue(a)) return a;
    if (isErrorValue(b)) return b;
    return apply(a, b, zone);
  };
}

/** Unary minus/plus always produce a number; an odd count of minus signs negates. */
export function unaryOperator(negate: boolean): (v: FormulaValue) => FormulaValue {
  return (v) => {
    if (isErrorValue(v)) return v;
    const n = toNumber(v);
    return negate ? -n : n;
  };
}
