/**
 * Airtable formula engine for filterByFormula (and formula fields): a lexer, a depth-limited parser, and an
 * evaluator with Airtable's coercion rules. See shared/reference/airtable-web-api.md §9.
 */
export { cellToFormulaValue, formulaValueToCell } from './cells.js';
export { type CompiledFormula, compileFormula } from './compile.js';
export type { EvalContext } from './context.js';
export { FormulaError } from './errors.js';
export { quoteFormulaString } from './quote.js';
export { type FormulaErrorValue, type FormulaValue, isTruthy } from './values.js';
