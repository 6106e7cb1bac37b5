import { FormulaError } from './errors.js';
import { type Token, tokenize } from './lexer.js';
import type { BinaryOp } from './operators.js';

export type Node =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'field'; name: string; braced: boolean }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'unary'; negate: boolean; operand: Node }
  // One precedence level's left-associative run (a op b op c), kept flat so long chains never nest deeply.
  | { kind: 'chain'; first: Node; rest: Array<{ op: BinaryOp; operand: Node }> };

export const MAX_FORMULA_LENGTH = 20_000;
export const MAX_NESTING_DEPTH = 64;

// Loosest first; each level's operands are parsed at the next level.
const LEVELS: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['=', '!=', '<', '>', '<=', '>=']),
  new Set(['&']),
  new Set(['+', '-']),
  new Set(['*', '/']),
];

/**
 * Recursive descent, but recursion only happens when entering parentheses or a call's arguments, and
 * that is capped at MAX_NESTING_DEPTH before the stack can grow further.
 */
class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseFormula(): Node {
    const node = this.expression();
    if (this.peek().kind !== 'eof') throw FormulaError.syntax();
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.pos++;
    return token;
  }

  private expect(kind: Token['kind']): void {
    if (this.next().kind !== kind) throw FormulaError.syntax();
  }

  private expression(level = 0): Node {
    const ops = LEVELS[level];
    if (!ops) return this.unary();
    const first = this.expression(level + 1);
    const rest: Array<{ op: BinaryOp; operand: Node }> = [];
    while (this.peek().kind === 'op' && ops.has(this.peek().text)) {
      const op = this.next().text as BinaryOp;
      rest.push({ op, operand: this.expression(level + 1) });
    }
    return rest.length === 0 ? first : { kind: 'chain', first, rest };
  }

  private unary(): Node {
    let signs = 0;
    let negate = false;
    while (this.peek().kind === 'op' && (this.peek().text === '-' || this.peek().text === '+')) {
      if (this.next().text === '-') negate = !negate;
      signs++;
    }
    const operand = this.primary();
    return signs === 0 ? operand : { kind: 'unary', negate, operand };
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_NESTING_DEPTH) throw FormulaError.tooComplex();
    const result = parse();
    this.depth--;
    return result;
  }

  private primary(): Node {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return { kind: 'number', value: Number(token.text) };
      case 'string':
        return { kind: 'string', value: token.text };
      case 'field':
        return { kind: 'field', name: token.text, braced: true };
      case 'ident':
        if (this.peek().kind !== '(') return { kind: 'field', name: token.text, braced: false };
        this.next();
        return this.nested(() => ({ kind: 'call', name: token.text, args: this.argumentList() }));
      case '(':
        return this.nested(() => {
          const inner = this.expression();
          this.expect(')');
          return inner;
        });
      default:
        throw FormulaError.syntax();
    }
  }

  private argumentList(): Node[] {
    const args: Node[] = [];
    if (this.peek().kind === ')') {
      this.next();
      return args;
    }
    for (;;) {
      args.push(this.expression());
      const separator = this.next();
      if (separator.kind === ')') return args;
      if (separator.kind !== ',') throw FormulaError.syntax();
    }
  }
}

export function parseFormula(text: string): Node {
  if (text.length > MAX_FORMULA_LENGTH) throw FormulaError.tooComplex();
  return new Parser(tokenize(text)).parseFormula();
}
