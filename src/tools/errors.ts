/**
 * An error result may still carry structured output: a batch that wrote
 * nothing for sure still reports, per record, what failed and whose outcome
 * is unknown. The server sends `structured` as the result's structuredContent.
 */
export interface ToolErrorOptions {
  structured?: Record<string, unknown>;
}

/**
 * An input problem the model can fix (unknown table, bad field name, missing
 * base id...). Reported as an `isError` result with this message; never
 * logged as a server fault.
 */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
  readonly structured?: Record<string, unknown>;

  constructor(message: string, options: ToolErrorOptions = {}) {
    super(message);
    this.structured = options.structured;
  }
}

/**
 * A failure to report to the model as it is (the message says what happened
 * and what to do), counted as an error rather than as bad input: for example
 * a batch whose writes may or may not have happened.
 */
export class ToolFailure extends Error {
  override name = 'ToolFailure';
  readonly structured?: Record<string, unknown>;

  constructor(message: string, options: ToolErrorOptions = {}) {
    super(message);
    this.structured = options.structured;
  }
}

/** The structured output an error result carries, if any (for `structuredContent`). */
export function errorStructured(error: unknown): Record<string, unknown> | undefined {
  return error instanceof ToolInputError || error instanceof ToolFailure ? error.structured : undefined;
}

/**
 * The caller may not do this: a write without the tools:write scope, or a
 * base outside the principal's bases. Reported as an `isError` result (the
 * model can tell the user), counted as 'denied'.
 */
export class ToolDeniedError extends Error {
  override name = 'ToolDeniedError';
}
