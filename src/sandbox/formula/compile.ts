import type { FieldDef } from '../model.js';
import { type EvalContext, type Thunk, zoneOf } from './context.js';
import { FormulaError } from './errors.js';
import { FieldResolver } from './fields.js';
import { type FunctionDef, lookupFunction } from './functions/index.js';
import { binaryOperator, unaryOperator } from './operators.js';
import { type Node, parseFormula } from './parser.js';
import { type FormulaValue, isErrorValue, toErrorValue } from './values.js';

export interface CompiledFormula {
  /** Never throws; runtime problems become FormulaErrorValue. */
  evaluate(ctx: EvalContext): FormulaValue;
  readonly referencedFieldIds: string[];
}

const BARE_KEYWORDS: Record<string, boolean> = { TRUE: true, FALSE: false };

function guarded(thunk: Thunk): Thunk {
  return (ctx) => {
    try {
      return thunk(ctx);
    } catch (e) {
      return toErrorValue(e);
    }
  };
}

/** Turns the syntax tree into closures, collecting every problem so the error can name them all. */
class Compiler {
  readonly unknownFields: string[] = [];
  readonly unknownFunctions: string[] = [];
  readonly referenced = new Set<string>();
  badArity = false;

  constructor(private readonly fields: FieldResolver) {}

  compile(node: Node): Thunk {
    switch (node.kind) {
      case 'number':
      case 'string': {
        const value = node.value;
        return () => value;
      }
      case 'field':
        return this.field(node.name, node.braced);
      case 'unary': {
        const operand = this.compile(node.operand);
        const apply = unaryOperator(node.negate);
        return (ctx) => apply(operand(ctx));
      }
      case 'chain':
        return this.chain(node);
      case 'call':
        return this.call(node.name, node.args);
    }
  }

  private field(name: string, braced: boolean): Thunk {
    const field = this.fields.resolve(name);
    if (field) {
      this.referenced.add(field.id);
      const id = field.id;
      return (ctx) => ctx.cell(id);
    }
    const keyword = braced ? undefined : BARE_KEYWORDS[name.toUpperCase()];
    if (keyword !== undefined) return () => keyword;
    if (!this.unknownFields.includes(name)) this.unknownFields.push(name);
    return () => null;
  }

  private chain(node: Extract<Node, { kind: 'chain' }>): Thunk {
    const first = this.compile(node.first);
    const rest = node.rest.map(({ op, operand }) => ({
      apply: binaryOperator(op),
      operand: this.compile(operand),
    }));
    const only = rest.length === 1 ? rest[0] : undefined;
    if (only) return (ctx) => only.apply(first(ctx), only.operand(ctx), zoneOf(ctx));
    return (ctx) => {
      const zone = zoneOf(ctx);
      let value = first(ctx);
      for (const step of rest) value = step.apply(value, step.operand(ctx), zone);
      return value;
    };
  }

  private call(name: string, argNodes: Node[]): Thunk {
    const def = lookupFunction(name);
    const compiled = argNodes.map((arg) => this.compile(arg));
    if (!def) {
      if (!this.unknownFunctions.includes(name)) this.unknownFunctions.push(name);
      return () => null;
    }
    if (compiled.length < def.min || compiled.length > def.max) this.badArity = true;
    return guarded(invoke(def, compiled));
  }
}

/**
 * Every call is guarded, so a failure thrown inside an argument already becomes that call's error value.
 * Only ISERROR must see such failures as values, so only its arguments are guarded individually.
 */
function invoke(def: FunctionDef, args: Thunk[]): Thunk {
  if (def.lazy) return (ctx) => def.impl(args, ctx);
  const { impl, seesErrors } = def;
  if (seesErrors) {
    const safeArgs = args.map(guarded);
    return (ctx) => impl(evaluateAll(safeArgs, ctx), ctx);
  }
  return (ctx) => {
    const values = evaluateAll(args, ctx);
    for (const value of values) if (isErrorValue(value)) return value;
    return impl(values, ctx);
  };
}

function evaluateAll(args: Thunk[], ctx: EvalContext): FormulaValue[] {
  const values = new Array<FormulaValue>(args.length);
  for (let i = 0; i < args.length; i++) values[i] = (args[i] as Thunk)(ctx);
  return values;
}

/** Parse and resolve a formula. Throws FormulaError for anything that must fail the whole request. */
export function compileFormula(text: string, fields: readonly FieldDef[]): CompiledFormula {
  const compiler = new Compiler(new FieldResolver(fields));
  const root = guarded(compiler.compile(parseFormula(text)));
  if (compiler.unknownFields.length > 0) throw FormulaError.unknownFields(compiler.unknownFields);
  if (compiler.unknownFunctions.length > 0) throw FormulaError.unknownFunctions(compiler.unknownFunctions);
  if (compiler.badArity) throw new FormulaError('arity');
  return { evaluate: root, referencedFieldIds: [...compiler.referenced] };
}
