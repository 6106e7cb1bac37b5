import { formulaEquals } from '../compare.js';
import { zoneOf } from '../context.js';
import { errorValue, isErrorValue, isTruthy } from '../values.js';
import { arg, eager, type FunctionTable, lazy, MANY } from './types.js';

export const LOGIC_FUNCTIONS: FunctionTable = {
  AND: eager(1, MANY, (args) => args.every(isTruthy)),
  OR: eager(1, MANY, (args) => args.some(isTruthy)),
  XOR: eager(1, MANY, (args) => args.filter(isTruthy).length % 2 === 1),
  NOT: eager(1, 1, (args) => !isTruthy(arg(args, 0))),
  IF: lazy(2, 3, ([test, then, otherwise], ctx) => {
    const condition = test?.(ctx) ?? null;
    if (isErrorValue(condition)) return condition;
    if (isTruthy(condition)) return then?.(ctx) ?? null;
    return otherwise ? otherwise(ctx) : null;
  }),
  SWITCH: lazy(2, MANY, ([subject, ...cases], ctx) => {
    const value = subject?.(ctx) ?? null;
    if (isErrorValue(value)) return value;
    const zone = zoneOf(ctx);
    for (let i = 0; i + 1 < cases.length; i += 2) {
      const pattern = cases[i]?.(ctx) ?? null;
      if (isErrorValue(pattern)) return pattern;
      if (formulaEquals(value, pattern, zone)) return cases[i + 1]?.(ctx) ?? null;
    }
    return cases.length % 2 === 1 ? (cases[cases.length - 1]?.(ctx) ?? null) : null;
  }),
  ISERROR: eager(1, 1, (args) => isErrorValue(arg(args, 0)), true),
  ERROR: eager(0, 1, () => errorValue()),
  BLANK: eager(0, 0, () => null),
  TRUE: eager(0, 0, () => true),
  FALSE: eager(0, 0, () => false),
};
