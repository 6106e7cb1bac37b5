/**
 * The `airtable-mcp-kit` command. Flags, their parsing and `--help` come
 * from the option declarations (config.ts for the core, each module's
 * section), and module commands (`chat`, `saga-run`, `users`…) from each
 * module's `commands`. Heavy code is imported inside the command that needs
 * it, so `--help` and a stdio start stay fast.
 */
import { parseArgs } from 'node:util';
import type { ModuleCommand, ModuleCommandContext, ModuleDefinition } from './app/module.js';
import { MODULES, selectModules } from './app/modules.js';
import {
  flagApplies,
  flagsFor,
  type HelpSection,
  helpRow,
  type OptionSpec,
  parseArgsOptions,
  renderOptionsHelp,
  wrap,
} from './app/options.js';
import { CORE_SECTIONS, type Config, ConfigError, type ConfigFlags, loadConfig } from './config.js';
import { VERSION } from './version.js';

const EXIT_USAGE = 2;
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

class UsageError extends Error {}

/** Every declared option: the core's sections, then each module's. */
function allOptions(modules: readonly ModuleDefinition[]): OptionSpec[] {
  return [
    ...Object.values(CORE_SECTIONS).flatMap((section) => Object.values(section.options) as OptionSpec[]),
    ...modules.flatMap((module) => Object.values(module.options ?? {})),
  ];
}

interface OwnedCommand {
  module: ModuleDefinition;
  command: ModuleCommand;
}

/** Module commands by name; a name taken twice (or a core command's) is a bug in a module. */
function moduleCommands(modules: readonly ModuleDefinition[]): Map<string, OwnedCommand> {
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

function renderHelp(modules: readonly ModuleDefinition[], commands: Map<string, OwnedCommand>): string {
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
function parseCoreCommand(argv: string[], specs: readonly OptionSpec[]) {
  const options = { ...parseArgsOptions(specs), ...COMMAND_FLAGS, ...META_FLAGS };
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

function lenientParse(argv: string[], specs: readonly OptionSpec[]) {
  return parseArgs({
    args: argv,
    options: { ...parseArgsOptions(specs), ...META_FLAGS },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
}

/** The command's name: the first argument that is not a flag or a declared flag's value. */
function firstPositional(argv: string[], specs: readonly OptionSpec[]): string | undefined {
  const token = lenientParse(argv, specs).tokens.find((t) => t.kind === 'positional');
  return token?.kind === 'positional' ? token.value : undefined;
}

/**
 * A module command: `<command> ...` parsed leniently, so the command's own
 * arguments pass through. Flags of options that configure the app (no
 * `commands` list) are taken into the config; everything else, in order,
 * is the command's `args` (flags declared for this command land in both).
 */
function parseModuleCommand(argv: string[], usage: string, specs: readonly OptionSpec[]) {
  const { values, tokens } = lenientParse(argv, specs);
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

/** --modules names what exists (whether each can run is checked when the app is built). */
function checkModuleNames(config: Config, modules: readonly ModuleDefinition[]): void {
  try {
    selectModules(config.modules, 'http', () => undefined, modules);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: modules: ${(error as Error).message}`);
  }
}

async function main(argv: string[]): Promise<number | undefined> {
  const specs = allOptions(MODULES);
  const commands = moduleCommands(MODULES);
  const first = firstPositional(argv, specs);
  const owned = first === undefined ? undefined : commands.get(first);
  if (owned) {
    const { command, module } = owned;
    const { values, args, flags } = parseModuleCommand(argv, command.usage, specs);
    if (values.help)
      return void process.stdout.write(`usage: airtable-mcp-kit ${command.usage}\n${command.summary}\n`);
    if (values.version) return void process.stdout.write(`${VERSION}\n`);
    const config = loadConfig(flags, process.env, MODULES);
    checkModuleNames(config, MODULES);
    return runModuleCommand(config, module, command, args);
  }

  const { command, args, values, flags } = parseCoreCommand(argv, specs);
  if (values.help) return void process.stdout.write(renderHelp(MODULES, commands));
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (command === 'keys' && args[0] === 'generate') return runKeysGenerate().then(() => 0);
  const config = loadConfig(flags, process.env, MODULES);
  checkModuleNames(config, MODULES);
  switch (command) {
    case 'keys':
      return withStore(config, (store, cli) =>
        cli.runKeys(store, process.stdout, [
          ...args,
          ...(values.name === undefined ? [] : ['--name', values.name]),
        ]),
      );
    case 'migrate':
      return withStore(
        config,
        (store, cli) => cli.runMigrate(store, process.stdout, { status: !!values.status }),
        {
          migrate: !values.status,
        },
      );
    case 'serve':
      if (config.http.transport === 'http')
        await (await import('./transports/http/index.js')).runHttp(config);
      else await (await import('./transports/stdio.js')).runStdio(config);
      return undefined; // the server runs on
    default:
      return void (await runSandbox(config));
  }
}

/**
 * Runs a module command. The app (store migrated, the owning module created
 * and started) is built only when the command asks for it, and closed when
 * the command returns or throws.
 */
async function runModuleCommand(
  config: Config,
  module: ModuleDefinition,
  command: ModuleCommand,
  args: readonly string[],
): Promise<number> {
  type App = import('./app/root.js').App;
  let built: Promise<App> | undefined;
  const build = async (): Promise<App> => {
    const [{ buildApp }, { createLogger }] = await Promise.all([
      import('./app/root.js'),
      import('./logger.js'),
    ]);
    return buildApp({ ...config, modules: [module.name] }, 'cli', {
      modules: MODULES,
      logger: createLogger(config.logLevel),
    });
  };
  const close = async () => {
    const app = await built?.catch(() => undefined); // a failed build closed what it opened
    await app?.close();
  };
  const ctx: ModuleCommandContext = {
    config,
    args,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    async app() {
      built ??= build();
      const app = await built;
      if (!app.context) throw new Error(`the ${module.name} module did not start`);
      return { ...app.context, modules: app.modules };
    },
  };
  const interrupted = (signal: NodeJS.Signals, code: number) =>
    process.once(signal, () => void close().finally(() => process.exit(code)));
  interrupted('SIGINT', 130);
  interrupted('SIGTERM', 143);
  try {
    return await command.run(ctx);
  } finally {
    await close();
  }
}

async function runKeysGenerate(): Promise<void> {
  (await import('./store/api-keys.js')).runKeysGenerate(process.stdout);
}

type StoreCli = typeof import('./store/cli.js');

/** Open the configured store (SQLite or PostgreSQL), run a store command, return its exit code. */
async function withStore(
  config: Config,
  run: (store: import('./store/types.js').Store, cli: StoreCli) => Promise<number> | number,
  options: { migrate?: boolean } = {},
): Promise<number> {
  const [{ openStore }, cli] = await Promise.all([import('./store/index.js'), import('./store/cli.js')]);
  const { dataDir, databaseUrl, poolSize } = config.store;
  const store = await openStore({
    databaseUrl,
    poolSize,
    ...(dataDir === ':memory:' ? { sqliteFile: ':memory:' } : { dataDir }),
    migrate: options.migrate ?? true,
  });
  try {
    return await run(store, cli);
  } finally {
    await store.close();
  }
}

async function runSandbox(config: Config): Promise<void> {
  const { startSandbox } = await import('./sandbox/index.js');
  const { port, host, dataFile, seed, token, controlToken, rateLimit } = config.sandbox;
  const sandbox = await startSandbox({
    port,
    host,
    dataFile,
    seed,
    token,
    controlToken,
    rateLimit: rateLimit ? {} : false,
  });
  const lines = [
    `Airtable sandbox listening on ${sandbox.url}`,
    `Token: ${sandbox.token}`,
    `Bases: ${sandbox.baseIds.join(', ')}`,
    `Rate limits: ${rateLimit ? '5 req/s per base, 50 req/s per token (--no-rate-limit to turn off)' : 'off'}`,
    `Data: ${dataFile ?? 'in memory (lost on exit; --data FILE keeps it)'}`,
    `Try: curl -H "Authorization: Bearer ${sandbox.token}" ${sandbox.url}/v0/meta/bases`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => void sandbox.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Invalid input (flags, config, a module that cannot run with it): exit 2. */
function isUsageError(error: unknown): boolean {
  return (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    (error as Error | undefined)?.name === 'ModuleSelectionError'
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    // A command with an exit code is done: leave even if a handle (stdin, a timer) is still open.
    if (code !== undefined) process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    const message = (error as Error | undefined)?.message ?? String(error);
    process.stderr.write(`airtable-mcp-kit: ${message}\n`);
    process.exit(isUsageError(error) ? EXIT_USAGE : 1);
  },
);
