import { FormulaError } from './errors.js';

export type TokenKind = 'number' | 'string' | 'field' | 'ident' | 'op' | '(' | ')' | ',' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Decoded text: the string's contents, the field name, the identifier or the operator. */
  text: string;
  pos: number;
}

const TWO_CHAR_OPS = new Set(['!=', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['+', '-', '*', '/', '&', '=', '<', '>']);
const NUMBER = /\d+(?:\.\d*)?|\.\d+/y;
const IDENT = /[\p{L}_][\p{L}\p{N}_]*/uy;
const WHITESPACE = /\s/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

function readString(src: string, start: number): { text: string; end: number } {
  const quote = src[start];
  let text = '';
  let i = start + 1;
  while (i < src.length) {
    const ch = src[i] as string;
    if (ch === quote) return { text, end: i + 1 };
    if (ch === '\\') {
      if (i + 1 >= src.length) break;
      const next = src[i + 1] as string;
      // Unknown escapes keep the escaped character, so `\'`, `\"` and `\\` all decode to themselves.
      text += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    text += ch;
    i++;
  }
  throw FormulaError.syntax();
}

function readField(src: string, start: number): { text: string; end: number } {
  const close = src.indexOf('}', start + 1);
  if (close < 0 || close === start + 1) throw FormulaError.syntax();
  return { text: src.slice(start + 1, close), end: close + 1 };
}

function readSticky(re: RegExp, src: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(src)?.[0];
}

/** Splits formula text into tokens; any character outside the grammar (e.g. smart quotes) is a syntax error. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (WHITESPACE.test(ch)) {
      i++;
      continue;
    }
    const token = readToken(src, i);
    tokens.push(token.token);
    i = token.end;
  }
  tokens.push({ kind: 'eof', text: '', pos: src.length });
  return tokens;
}

function readToken(src: string, pos: number): { token: Token; end: number } {
  const ch = src[pos] as string;
  if (ch === '"' || ch === "'") {
    const s = readString(src, pos);
    return { token: { kind: 'string', text: s.text, pos }, end: s.end };
  }
  if (ch === '{') {
    const f = readField(src, pos);
    return { token: { kind: 'field', text: f.text, pos }, end: f.end };
  }
  if (ch === '(' || ch === ')' || ch === ',') return { token: { kind: ch, text: ch, pos }, end: pos + 1 };
  const two = src.slice(pos, pos + 2);
  if (TWO_CHAR_OPS.has(two)) return { token: { kind: 'op', text: two, pos }, end: pos + 2 };
  if (ONE_CHAR_OPS.has(ch)) return { token: { kind: 'op', text: ch, pos }, end: pos + 1 };
  const number = readSticky(NUMBER, src, pos);
  if (number) return { token: { kind: 'number', text: number, pos }, end: pos + number.length };
  const ident = readSticky(IDENT, src, pos);
  if (ident) return { token: { kind: 'ident', text: ident, pos }, end: pos + ident.length };
  throw FormulaError.syntax();
}
