import type { EvalContext, Thunk } from '../context.js';
import type { FormulaValue } from '../values.js';

export type EagerImpl = (args: FormulaValue[], ctx: EvalContext) => FormulaValue;
export type LazyImpl = (args: Thunk[], ctx: EvalContext) => FormulaValue;

export type FunctionDef =
  | { min: number; max: number; lazy: false; impl: EagerImpl; seesErrors: boolean }
  | { min: number; max: number; lazy: true; impl: LazyImpl };

export type FunctionTable = Record<string, FunctionDef>;

/** Arguments are evaluated first; an error argument becomes the result unless `seesErrors`. */
export function eager(min: number, max: number, impl: EagerImpl, seesErrors = false): FunctionDef {
  return { min, max, lazy: false, impl, seesErrors };
}

/** Arguments arrive unevaluated, so only the branch that is needed runs (IF, SWITCH). */
export function lazy(min: number, max: number, impl: LazyImpl): FunctionDef {
  return { min, max, lazy: true, impl };
}

export const MANY = Number.POSITIVE_INFINITY;

/** A present argument, or BLANK for one the caller left out. */
export function arg(args: readonly FormulaValue[], index: number): FormulaValue {
  return args[index] ?? null;
}

/** An optional argument: undefined when omitted. */
export function optional(args: readonly FormulaValue[], index: number): FormulaValue | undefined {
  return index < args.length ? args[index] : undefined;
}
