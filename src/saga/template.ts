/**
 * Templating of step arguments: `{{input.x}}`, `{{steps.<name>.output.a.0.b}}`,
 * `{{run.id}}`. A string that is exactly one placeholder keeps the value's
 * type (an object, a list, a number); placeholders inside longer text are
 * interpolated. A placeholder naming nothing is an error that says which.
 */

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const ANY = /\{\{\s*([^{}]+?)\s*\}\}/g;

export type TemplateScope = Record<string, unknown>;

/** Render every string inside `value` (objects and arrays are walked). */
export function render(value: unknown, scope: TemplateScope, lenient = false): unknown {
  if (typeof value === 'string') return renderString(value, scope, lenient);
  if (Array.isArray(value)) return value.map((v) => render(v, scope, lenient));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = render(v, scope, lenient);
    return out;
  }
  return value;
}

function renderString(text: string, scope: TemplateScope, lenient: boolean): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return lookup(whole[1]!, scope, lenient);
  if (!text.includes('{{')) return text;
  return text.replace(ANY, (_match, path: string) => {
    const value = lookup(path, scope, lenient);
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

/** A dotted path (`steps.parent.output.records.0.id`) in the scope. */
export function lookup(path: string, scope: TemplateScope, lenient = false): unknown {
  const parts = path.trim().split('.');
  let current: unknown = scope;
  for (let i = 0; i < parts.length; i++) {
    const key = parts[i]!;
    if (current !== null && typeof current === 'object' && Object.hasOwn(current, key)) {
      current = (current as Record<string, unknown>)[key];
      continue;
    }
    if (lenient) return undefined;
    const where = parts.slice(0, i).join('.') || 'the template scope';
    throw new TemplateError(`{{${path.trim()}}}: "${key}" is not in ${where}`);
  }
  return current;
}
