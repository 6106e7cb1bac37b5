/**
 * The `airtable-mcp-kit` command: parses the command line (cli-args.ts,
 * generated from the option declarations), loads the config and runs the
 * core command or a module's (`chat`, `saga-run`, `users`…). Heavy code is
 * imported inside the command that needs it, so `--help` and a stdio start
 * stay fast.
 */
import type { ModuleCommand, ModuleCommandContext, ModuleDefinition } from './app/module.js';
import { MODULES, selectModules } from './app/modules.js';
import {
  declarations,
  firstPositional,
  moduleCommands,
  parseCoreCommand,
  parseModuleCommand,
  renderHelp,
  UsageError,
} from './cli-args.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { VERSION } from './version.js';

const EXIT_USAGE = 2;

/** --modules names what exists (whether each can run is checked when the app is built). */
function checkModuleNames(config: Config, modules: readonly ModuleDefinition[]): void {
  try {
    selectModules(config.modules, 'http', () => undefined, modules);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: modules: ${(error as Error).message}`);
  }
}

async function main(argv: string[]): Promise<number | undefined> {
  const declared = declarations(MODULES);
  const commands = moduleCommands(MODULES);
  const first = firstPositional(argv, declared);
  const owned = first === undefined ? undefined : commands.get(first);
  if (owned) {
    const { command, module } = owned;
    const { values, args, flags } = parseModuleCommand(argv, command.usage, declared);
    if (values.help)
      return void process.stdout.write(`usage: airtable-mcp-kit ${command.usage}\n${command.summary}\n`);
    if (values.version) return void process.stdout.write(`${VERSION}\n`);
    const config = loadConfig(flags, process.env, MODULES);
    checkModuleNames(config, MODULES);
    // A person reads a command's output: the app's info lines are noise unless a log level is asked for.
    const asked = flags.logLevel !== undefined || Boolean(process.env.LOG_LEVEL?.trim());
    return runModuleCommand(config, module, command, args, asked ? config.logLevel : 'warn');
  }

  const { command, args, values, flags } = parseCoreCommand(argv, declared);
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
  logLevel: string,
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
      logger: createLogger(logLevel),
      airtableOptional: command.needsAirtable === false,
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
