/**
 * An input problem the model can fix (unknown table, bad field name, missing
 * base id...). Reported as an `isError` result with this message; never
 * logged as a server fault.
 */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

/**
 * A failure to report to the model as it is (the message says what happened
 * and what to do), counted as an error rather than as bad input: for example
 * a batch whose writes may or may not have happened.
 */
export class ToolFailure extends Error {
  override name = 'ToolFailure';
}
