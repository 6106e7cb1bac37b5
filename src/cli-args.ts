/**
 * The command line of `airtable-mcp-kit`, from the declarations: the core's
 * commands, every declared option (config.ts and each module's section) and
 * each module's commands give the flag table, the parsing of a core command
 * (strict) or a module command (lenient: its own arguments pass through),
 * and `--help`. Light: the CLI reads this at every start.
 */
import { parseArgs } from 'node:util';
import type { ModuleCommand, ModuleDefinition } from './app/module.js';
import {
  flagApplies,
  flagsFor,
  type HelpSection,
  helpRow,
  type OptionSpec,
  type ParseArgsOption,
  parseArgsOptions,
  renderOptionsHelp,
  wrap,
} from './app/options.js';
import { CORE_SECTIONS, type ConfigFlags } from './config.js';
import { VERSION } from './version.js';

const COMMAND_COLUMN = 39;

/** The core's commands: their --help rows and how many positional arguments each takes. */
const CORE_COMMANDS: Record<string, { rows: [usage: string, summary: string][]; positionals: number }> = {
  serve: {
    rows: [['[serve] [options]', 'Run the MCP server: over stdio (what MCP clients launch) or HTTP']],
    positionals: 0,
  },
  sandbox: {
    rows: [['sandbox [options]', 'Run the Airtable-compatible sandbox API server']],
    positionals: 0,
  },
  keys: {
    rows: [
      ['keys generate', 'Print a new API key for API_KEY / API_KEYS (pya_ + 64 hex)'],
      [
        'keys create --name N | list | revoke <id|prefix>',
        'Manage API keys kept in the store (hashed; shown once on creation)',
      ],
    ],
    positionals: 2,
  },
  migrate: {
    rows: [['migrate [--status]', "Apply the store's migrations (or show which are applied)"]],
    positionals: 0,
  },
};

/** Flags of one core command that are its arguments, not configuration. */
const COMMAND_FLAGS = {
  name: { type: 'string' },
  status: { type: 'boolean' },
} as const;
const COMMAND_FLAG_OWNER: Record<keyof typeof COMMAND_FLAGS, string> = { name: 'keys', status: 'migrate' };

const META_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export class UsageError extends Error {}

/** Every declared option (the core's sections, then each module's) and parseArgs' table of their flags. */
export interface Declarations {
  specs: readonly OptionSpec[];
  table: Record<string, ParseArgsOption>;
}

export function declarations(modules: readonly ModuleDefinition[]): Declarations {
  const specs = [
    ...Object.values(CORE_SECTIONS).flatMap((section) => Object.values(section.options) as OptionSpec[]),
    ...modules.flatMap((module) => Object.values(module.options ?? {})),
  ];
  return { specs, table: parseArgsOptions(specs) };
}

export interface OwnedCommand {
  module: ModuleDefinition;
  command: ModuleCommand;
}

/** Module commands by name; a name taken twice (or a core command's) is a bug in a module. */
export function moduleCommands(modules: readonly ModuleDefinition[]): Map<string, OwnedCommand> {
  const commands = new Map<string, OwnedCommand>();
  for (const module of modules) {
    for (const [name, command] of Object.entries(module.commands ?? {})) {
      const owner = name in CORE_COMMANDS ? 'the core' : commands.get(name)?.module.name;
      if (owner) throw new Error(`module "${module.name}" declares command "${name}", which ${owner} has`);
      commands.set(name, { module, command });
    }
  }
  return commands;
}

export function renderHelp(
  modules: readonly ModuleDefinition[],
  commands: Map<string, OwnedCommand>,
): string {
  const row = (usage: string, summary: string) => {
    const left = `  airtable-mcp-kit ${usage}`;
    return left.length + 2 <= COMMAND_COLUMN
      ? helpRow(left, summary, COMMAND_COLUMN)
      : `${left}\n${' '.repeat(COMMAND_COLUMN)}${summary}`;
  };
  const coreRows = Object.values(CORE_COMMANDS).flatMap((c) => c.rows.map(([u, s]) => row(u, s)));
  const moduleRows = [...commands.values()].map(({ module, command }) =>
    row(command.usage, `${command.summary} (${module.name} module)`),
  );
  const moduleList = modules.flatMap((m) => wrap(helpRow(`  ${m.name}`, m.summary, 16), 116, ' '.repeat(16)));
  const sections: HelpSection[] = [
    ...Object.values(CORE_SECTIONS),
    ...modules
      .filter((m) => m.options)
      .map((m) => ({ title: `${m.name} module options`, options: m.options! })),
  ];
  return [
    `airtable-mcp-kit ${VERSION}: an MCP server for Airtable, with a built-in Airtable sandbox.`,
    '',
    'Usage:',
    ...coreRows,
    ...(moduleRows.length ? ['', 'Module commands (each starts its module):', ...moduleRows] : []),
    '',
    'Modules (--modules a,b|all|none; unset: HTTP mode runs all that can, stdio none):',
    ...moduleList,
    '',
    'Options (env in brackets; flags win over env):',
    renderOptionsHelp(sections),
    '',
    helpRow('  -h, --help', 'Show this help'),
    helpRow('  -v, --version', 'Print the version'),
    '',
  ].join('\n');
}

/** Long flag names as the user wrote them, e.g. `--no-rate-limit` → rate-limit's option. */
function specsFor(name: string, specs: readonly OptionSpec[]): OptionSpec[] {
  return specs.filter((s) => s.flag === name || (s.negatable && `no-${s.flag}` === name));
}

/** A core command: strict parsing; a flag that belongs to another command is an error, not ignored. */
export function parseCoreCommand(argv: string[], { specs, table }: Declarations) {
  const options = { ...table, ...COMMAND_FLAGS, ...META_FLAGS };
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command = 'serve', ...rest] = positionals;
  const known = CORE_COMMANDS[command];
  if (!known && !(values.help || values.version))
    throw new UsageError(`unknown command "${command}"; run airtable-mcp-kit --help`);
  if (known && rest.length > known.positionals)
    throw new UsageError(`unexpected argument "${rest[known.positionals]}"`);
  for (const name of Object.keys(values)) {
    if (name in META_FLAGS) continue;
    const owner = COMMAND_FLAG_OWNER[name as keyof typeof COMMAND_FLAGS];
    const applies = owner
      ? owner === command
      : specsFor(name, specs).some((s) => flagApplies(s, command, specs));
    if (!applies) {
      const owners = specsFor(name, specs).flatMap((s) => s.commands ?? []);
      const where = owners.length ? ` (it is one of ${owners.map((c) => `"${c}"`).join(', ')})` : '';
      throw new UsageError(`--${name} is not an option of "${command}"${where}`);
    }
  }
  return { command, args: rest, values, flags: flagsFor(values, command, specs) as ConfigFlags };
}

function lenientParse(argv: string[], table: Declarations['table']) {
  return parseArgs({
    args: argv,
    options: { ...table, ...META_FLAGS },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
}

/** The command's name: the first argument that is not a flag or a declared flag's value. */
export function firstPositional(argv: string[], { table }: Declarations): string | undefined {
  const token = lenientParse(argv, table).tokens.find((t) => t.kind === 'positional');
  return token?.kind === 'positional' ? token.value : undefined;
}

/**
 * A module command: `<command> ...` parsed leniently, so the command's own
 * arguments pass through. Flags of options that configure the app (no
 * `commands` list) are taken into the config; everything else, in order,
 * is the command's `args` (flags declared for this command land in both).
 */
export function parseModuleCommand(argv: string[], usage: string, { specs, table }: Declarations) {
  const { values, tokens } = lenientParse(argv, table);
  const args: string[] = [];
  const commandToken = tokens.find((t) => t.kind === 'positional');
  const name = commandToken?.kind === 'positional' ? commandToken.value : '';
  for (const token of tokens) {
    if (token === commandToken) continue;
    if (token.kind === 'positional') {
      args.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') {
      args.push('--');
      continue;
    }
    const declared = specsFor(token.name, specs).filter((s) => flagApplies(s, name, specs));
    const takesValue = declared.some((s) => !s.boolean);
    if (takesValue && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))))
      throw new UsageError(`option ${token.rawName} needs a value; usage: airtable-mcp-kit ${usage}`);
    if (declared.length && declared.every((s) => !s.commands)) continue;
    if (token.name in META_FLAGS) continue;
    if (token.value === undefined) args.push(token.rawName);
    else if (token.inlineValue) args.push(`${token.rawName}=${token.value}`);
    else args.push(token.rawName, token.value);
  }
  return { values, args, flags: flagsFor(values, name, specs) as ConfigFlags };
}
