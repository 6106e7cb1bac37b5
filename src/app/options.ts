/**
 * Config options, declared once: where the value lives, its flag, its env
 * vars, its validation and default (one zod schema), and its help line. The
 * config loader, the CLI's flag parser and `--help` are all generated from
 * these declarations, for the core and for every module's section.
 */
import { z } from 'zod';

export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  /** Validation and default. Values from env and flags arrive as strings (or booleans for boolean flags). */
  schema: S;
  /** Env vars, first non-empty one wins. */
  env?: string | readonly string[];
  /** Long flag without dashes, e.g. 'base-path'. */
  flag?: string;
  /** A flag that takes no value. */
  boolean?: boolean;
  /** Also accept `--no-<flag>` (sets false). */
  negatable?: boolean;
  /** Short flag letter. */
  short?: string;
  /**
   * Key in the flags object given to loadConfig (default: the flag in camelCase).
   * Two options may share a flag when they apply to different commands.
   */
  id?: string;
  /** Commands the flag applies to (default: all but those another option with the same flag claims). */
  commands?: readonly string[];
  /** The value placeholder in --help, e.g. '<n>'. */
  arg?: string;
  /** One line for --help (defaults are stated in it). */
  help: string;
  /** Not listed one per line in --help (named in the README and in a "more" line). */
  more?: boolean;
  /** A secret: never echoed in errors. */
  secret?: boolean;
  /** Adjusts a raw value before validation (e.g. 'all' → every toolset). */
  prepare?: (raw: unknown) => unknown;
}

/** Options of one config section: `config.<section>.<key>`. */
export type OptionSection = Record<string, OptionSpec>;

export type SectionValue<T extends OptionSection> = { [K in keyof T]: z.output<T[K]['schema']> };

export function option<S extends z.ZodType>(spec: OptionSpec<S>): OptionSpec<S> {
  return spec;
}

/** A named section, e.g. a module's: its values are `readSection(config, section)`. */
export interface SectionDefinition<T extends OptionSection = OptionSection> {
  name: string;
  title: string;
  options: T;
}

export function defineSection<T extends OptionSection>(name: string, title: string, options: T) {
  return { name, title, options } satisfies SectionDefinition<T>;
}

/** The configuration the root passes around: the core's typed sections plus every module section. */
export interface AppConfigExtras {
  /** Values of module sections by section name (validated). */
  sections: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The core's Config (config.ts) plus the module sections. */
export type AppConfig = import('../config.js').Config & Partial<AppConfigExtras>;

/** A module's section of the config, typed from its declaration. */
export function readSection<T extends OptionSection>(
  config: AppConfig,
  section: SectionDefinition<T>,
): SectionValue<T> {
  const values = config.sections?.[section.name];
  if (!values) throw new Error(`config section "${section.name}" was not loaded`);
  return values as SectionValue<T>;
}

/** The zod schema of a section's values, typed from its declaration. */
export function sectionSchema<T extends OptionSection>(options: T): z.ZodObject<SectionShape<T>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(options)) shape[key] = spec.schema;
  return z.object(shape) as unknown as z.ZodObject<SectionShape<T>>;
}

export type SectionShape<T extends OptionSection> = { [K in keyof T]: T[K]['schema'] };

/* ---- shared value types, so every option parses alike ---- */

export const booleanish = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((s) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''].includes(s), {
      message: 'expected true/false, 1/0, yes/no or on/off',
    })
    .transform((s) => ['1', 'true', 'yes', 'on'].includes(s)),
]);

export const stringList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/* ---- reading flags and env ---- */

export type Env = Record<string, string | undefined>;
export type Flags = Record<string, unknown>;

export function envNames(spec: OptionSpec): readonly string[] {
  if (!spec.env) return [];
  return typeof spec.env === 'string' ? [spec.env] : spec.env;
}

export function flagId(spec: OptionSpec): string | undefined {
  if (spec.id) return spec.id;
  return spec.flag?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function firstEnv(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** The raw value of one option: its flag wins over its env vars; undefined lets the default apply. */
export function rawValue(spec: OptionSpec, flags: Flags, env: Env): unknown {
  const id = flagId(spec);
  const fromFlag = id === undefined ? undefined : flags[id];
  const raw = fromFlag ?? firstEnv(env, envNames(spec));
  if (raw === undefined) return undefined;
  return spec.prepare ? spec.prepare(raw) : raw;
}

export function rawSection(options: OptionSection, flags: Flags, env: Env): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(options)) {
    const value = rawValue(spec, flags, env);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

/* ---- the CLI side: parseArgs options and help, generated ---- */

export interface ParseArgsOption {
  type: 'string' | 'boolean';
  short?: string;
}

/** A block of --help: a title and the options listed under it. */
export interface HelpSection {
  title: string;
  options: OptionSection;
}

/** Whether a declared flag applies to this command (see OptionSpec.commands). */
export function flagApplies(spec: OptionSpec, command: string, all: readonly OptionSpec[]): boolean {
  if (!spec.flag) return false;
  if (spec.commands) return spec.commands.includes(command);
  return !all.some(
    (other) => other !== spec && other.flag === spec.flag && other.commands?.includes(command),
  );
}

/** parseArgs' option table for every declared flag. */
export function parseArgsOptions(all: readonly OptionSpec[]): Record<string, ParseArgsOption> {
  const table: Record<string, ParseArgsOption> = {};
  for (const spec of all) {
    if (!spec.flag) continue;
    table[spec.flag] = {
      type: spec.boolean ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
    };
    if (spec.negatable) table[`no-${spec.flag}`] = { type: 'boolean' };
  }
  return table;
}

/** Parsed flag values of one command → the flags object loadConfig reads (keyed by option id). */
export function flagsFor(
  values: Record<string, unknown>,
  command: string,
  all: readonly OptionSpec[],
): Flags {
  const flags: Flags = {};
  for (const spec of all) {
    if (!spec.flag || !flagApplies(spec, command, all)) continue;
    const id = flagId(spec)!;
    if (spec.negatable && values[`no-${spec.flag}`]) flags[id] = false;
    else if (values[spec.flag] !== undefined) flags[id] = values[spec.flag];
  }
  return flags;
}

export const HELP_COLUMN = 29;

/** `  left<padding>text`, the layout of every --help row. */
export function helpRow(left: string, text: string, column = HELP_COLUMN): string {
  const pad = left.length < column ? ' '.repeat(column - left.length) : '  ';
  return `${left}${pad}${text}`;
}

function flagLine(spec: OptionSpec): string {
  const name = `--${spec.negatable ? '[no-]' : ''}${spec.flag}${spec.arg ? ` ${spec.arg}` : ''}`;
  const env = envNames(spec)[0];
  return helpRow(`  ${spec.short ? `-${spec.short}, ` : ''}${name}`, `${spec.help}${env ? ` [${env}]` : ''}`);
}

/** An option set only through the environment: its first env var on the left, the others named after the help. */
function envLine(spec: OptionSpec): string {
  const [first, ...others] = envNames(spec);
  return helpRow(`  ${first}`, `${spec.help}${others.length ? ` (or ${others.join(', ')})` : ''}`);
}

/**
 * The options part of --help, a block per section: flags, then env-only
 * options one per line, then the env vars of `more` options in one line.
 */
export function renderOptionsHelp(sections: readonly HelpSection[]): string {
  const blocks: string[] = [];
  for (const section of sections) {
    const specs = Object.values(section.options);
    const flagged = specs.filter((s) => s.flag && !s.more);
    const envListed = specs.filter((s) => !s.flag && !s.more && envNames(s).length);
    const more = specs.filter((s) => s.more).flatMap((s) => envNames(s).slice(0, 1));
    if (!flagged.length && !envListed.length && !more.length) continue;
    const lines = [`${section.title}:`, ...flagged.map(flagLine), ...envListed.map(envLine)];
    if (more.length) lines.push(...wrap(`  Also (env, see README): ${more.join(', ')}`, 108, '    '));
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n');
}

/** Words into lines of at most `width` characters; lines after the first start with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  // Each piece keeps the spaces before it, so indentation and column padding survive.
  for (const piece of text.match(/\s*\S+/g) ?? []) {
    if (line.trim() && line.length + piece.length > width) {
      lines.push(line);
      line = indent + piece.trimStart();
    } else line += piece;
  }
  if (line) lines.push(line);
  return lines;
}
