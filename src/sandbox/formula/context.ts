import type { FormulaValue } from './values.js';

export interface EvalContext {
  recordId: string;
  /** ISO timestamp. */
  createdTime: string;
  /** The formula value of a field's cell for this record (the caller converts with cellToFormulaValue). */
  cell(fieldId: string): FormulaValue;
  now: Date;
  /** IANA zone used for calendar maths (TODAY, DATESTR, YEAR, ...); default UTC like API-side Airtable. */
  timeZone?: string;
}

export type Thunk = (ctx: EvalContext) => FormulaValue;

export function zoneOf(ctx: EvalContext): string {
  return ctx.timeZone ?? 'UTC';
}
