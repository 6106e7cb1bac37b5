/**
 * An input problem the model can fix (unknown table, bad field name, missing
 * base id...). Reported as an `isError` result with this message; never
 * logged as a server fault.
 */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}
