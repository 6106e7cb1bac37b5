/** Compile-time failures: any of these fails the whole request (422 INVALID_FILTER_BY_FORMULA). */
export type FormulaErrorKind = 'syntax' | 'unknownField' | 'unknownFunction' | 'arity' | 'tooComplex';

export const INVALID_FORMULA_MESSAGE = 'Invalid formula. Please check your formula text.';

export class FormulaError extends Error {
  readonly kind: FormulaErrorKind;
  readonly names?: string[];

  constructor(kind: FormulaErrorKind, message: string = INVALID_FORMULA_MESSAGE, names?: string[]) {
    super(message);
    this.name = 'FormulaError';
    this.kind = kind;
    if (names) this.names = names;
  }

  static syntax(): FormulaError {
    return new FormulaError('syntax');
  }

  static tooComplex(): FormulaError {
    return new FormulaError('tooComplex');
  }

  static unknownFields(names: string[]): FormulaError {
    return new FormulaError('unknownField', `Unknown field names: ${names.join(', ')}`, names);
  }

  static unknownFunctions(names: string[]): FormulaError {
    return new FormulaError('unknownFunction', `Unknown function names: ${names.join(', ')}`, names);
  }
}
