/**
 * A formula string literal for `s`, for the project's own formula builders. Backslashes are escaped before
 * quotes, so user text can never end the literal early; the lexer decodes exactly these escapes (§9.3).
 */
export function quoteFormulaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
