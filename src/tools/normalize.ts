/**
 * Normalised keys for matching values that a person would call "the same":
 * find_duplicates groups by them, sync_tables matches records by them and
 * analyze_table_data counts near-duplicates with them.
 */
import { cellText, isEmptyCell } from './cells.js';

export interface KeyOptions {
  /** Also treat "é" and "e" as equal (off by default: "Müller" and "Muller" may be different people). */
  ignoreAccents?: boolean;
}

/**
 * Unicode NFKC (full-width letters, ligatures and the like become plain
 * ones), trimmed, inner whitespace collapsed to one space, lower-cased.
 */
export function normalizeText(text: string, options: KeyOptions = {}): string {
  let out = text.normalize('NFKC');
  if (options.ignoreAccents) out = out.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
  return out.trim().replace(/\s+/gu, ' ').toLowerCase();
}

/**
 * One cell as a key: empty cells become "", lists are normalised element by
 * element and sorted (a multi-select's order carries no meaning), numbers
 * keep their numeric form (so 5 and 5.0 match).
 */
export function cellKey(value: unknown, options: KeyOptions = {}): string {
  if (isEmptyCell(value)) return '';
  if (Array.isArray(value)) {
    return value
      .map((item) => normalizeText(cellText(item), options))
      .sort()
      .join('\u001f');
  }
  return normalizeText(cellText(value), options);
}

/** Several cells as one key; a separator that cannot occur in text keeps ("a b","c") apart from ("a","b c"). */
export function tupleKey(values: readonly unknown[], options: KeyOptions = {}): string {
  return values.map((v) => cellKey(v, options)).join('\u001e');
}
