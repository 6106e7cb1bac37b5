import { ARRAY_FUNCTIONS } from './arrays.js';
import { DATETIME_FUNCTIONS } from './datetime.js';
import { LOGIC_FUNCTIONS } from './logic.js';
import { NUMERIC_FUNCTIONS } from './numeric.js';
import { REGEX_FUNCTIONS } from './regex.js';
import { TEXT_FUNCTIONS } from './text.js';
import type { FunctionDef } from './types.js';

const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  Object.entries({
    ...LOGIC_FUNCTIONS,
    ...TEXT_FUNCTIONS,
    ...REGEX_FUNCTIONS,
    ...NUMERIC_FUNCTIONS,
    ...ARRAY_FUNCTIONS,
    ...DATETIME_FUNCTIONS,
  }),
);

/** Function names are case-insensitive. */
export function lookupFunction(name: string): FunctionDef | undefined {
  return FUNCTIONS.get(name.toUpperCase());
}

export type { FunctionDef } from './types.js';
