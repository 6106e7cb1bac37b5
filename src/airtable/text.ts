/**
 * Well-formed text. A JavaScript string may hold a lone surrogate (half of a
 * UTF-16 pair, e.g. "Projects\ud800"), which is not text: it cannot be
 * encoded as UTF-8, so `encodeURIComponent` throws a URIError and JSON
 * bodies carry it only as an escape Airtable cannot store faithfully.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Position of the first lone surrogate in `text`, or -1 when the text is well formed. */
export function loneSurrogateAt(text: string): number {
  return text.search(LONE_SURROGATE);
}

/** Where in a JSON-like value (arguments, cell values) the first ill-formed string is, as a path, if any. */
export function findIllFormedText(value: unknown, path = ''): { path: string; at: number } | undefined {
  if (typeof value === 'string') {
    const at = loneSurrogateAt(value);
    return at < 0 ? undefined : { path, at };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormedText(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const keyAt = loneSurrogateAt(key);
      const here = path ? `${path}.${key}` : key;
      if (keyAt >= 0) return { path: path || '(a key)', at: keyAt };
      const found = findIllFormedText(child, here);
      if (found) return found;
    }
  }
  return undefined;
}
