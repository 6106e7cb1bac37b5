import { type FormulaValue, fail, MAX_TEXT_LENGTH, toText } from '../values.js';
import { arg, eager, type FunctionTable } from './types.js';

/**
 * Airtable evaluates REGEX_* with RE2 (linear time); the sandbox uses JS RegExp, which backtracks. Subjects
 * are capped so a catastrophic pattern costs a bounded amount, and an invalid pattern is a row error.
 */
export const MAX_REGEX_SUBJECT = 100_000;
const MAX_CACHED = 256;
const cache = new Map<string, RegExp>();

/** RE2 writes flags as a leading `(?i)` group; JS wants them as RegExp flags. */
function splitInlineFlags(pattern: string): { source: string; flags: string } {
  const m = /^\(\?([ims]+)\)/.exec(pattern);
  if (!m) return { source: pattern, flags: '' };
  return { source: pattern.slice(m[0].length), flags: [...new Set(m[1])].join('') };
}

function compile(pattern: string, global: boolean): RegExp {
  const key = `${global ? 'g' : '-'}${pattern}`;
  const cached = cache.get(key);
  if (cached) {
    cached.lastIndex = 0;
    return cached;
  }
  const { source, flags } = splitInlineFlags(pattern);
  let re: RegExp;
  try {
    re = new RegExp(source, global ? `${flags}g` : flags);
  } catch {
    return fail();
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, re);
  return re;
}

function subject(args: readonly FormulaValue[]): string {
  const s = toText(arg(args, 0));
  return s.length > MAX_REGEX_SUBJECT ? fail() : s;
}

type Groups = ReadonlyArray<string | undefined>;

function groupReference(digits: string, groups: Groups): string | undefined {
  const two = Number(digits);
  if (two >= 1 && two <= groups.length) return groups[two - 1] ?? '';
  const one = Number(digits[0]);
  if (digits.length === 2 && one >= 1 && one <= groups.length) return (groups[one - 1] ?? '') + digits[1];
  return undefined;
}

/** Expands `$$`, `$&`, `$1`…`$99` and `$<name>` the way String.prototype.replace does. */
function expandReplacement(
  template: string,
  match: string,
  groups: Groups,
  named: Record<string, string> | undefined,
) {
  return template.replace(/\$(\$|&|\d{1,2}|<([^>]*)>)/g, (token: string, body: string, name?: string) => {
    if (body === '$') return '$';
    if (body === '&') return match;
    if (name !== undefined) return named ? (named[name] ?? '') : token;
    return groupReference(body, groups) ?? token;
  });
}

/** Replaces every match while counting output, so huge results fail before they are built. */
function replaceAll(s: string, re: RegExp, template: string): string {
  let total = s.length;
  return s.replace(re, (match: string, ...rest: unknown[]) => {
    const named =
      typeof rest[rest.length - 1] === 'object' ? (rest.pop() as Record<string, string>) : undefined;
    const groups = rest.slice(0, -2) as Groups;
    const out = expandReplacement(template, match, groups, named);
    total += out.length - match.length;
    if (total > MAX_TEXT_LENGTH) fail();
    return out;
  });
}

export const REGEX_FUNCTIONS: FunctionTable = {
  REGEX_MATCH: eager(2, 2, (args) => compile(toText(arg(args, 1)), false).test(subject(args))),
  REGEX_EXTRACT: eager(2, 2, (args) => compile(toText(arg(args, 1)), false).exec(subject(args))?.[0] ?? null),
  REGEX_REPLACE: eager(3, 3, (args) =>
    replaceAll(subject(args), compile(toText(arg(args, 1)), true), toText(arg(args, 2))),
  ),
};
