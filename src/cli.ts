/**
 * The `airtable-mcp-kit` command. Heavy modules are imported inside the
 * command that needs them, so `--help` and a stdio start stay fast.
 */
import { parseArgs } from 'node:util';
import { type Config, ConfigError, type ConfigFlags, loadConfig } from './config.js';
import { VERSION } from './version.js';

const EXIT_USAGE = 2;

const HELP = `airtable-mcp-kit ${VERSION}: an MCP server for Airtable, with a built-in Airtable sandbox.

Usage:
  airtable-mcp-kit [serve] [options]   Run the MCP server: over stdio (what MCP clients launch) or HTTP
  airtable-mcp-kit sandbox [options]   Run the Airtable-compatible sandbox API server
  airtable-mcp-kit keys generate       Print a new API key for API_KEY / API_KEYS (pya_ + 64 hex)
  airtable-mcp-kit keys create --name N | list | revoke <id|prefix>
                                       Manage API keys kept in the store (hashed; shown once on creation)
  airtable-mcp-kit migrate [--status]  Apply the store's migrations (or show which are applied)

Server options (env in brackets):
  --sandbox                  Use an in-process sandbox with a demo base; no token needed [AIRTABLE_SANDBOX]
  --base <appId>             Default base when a tool call omits base_id [AIRTABLE_BASE]
  --read-only                Register only tools that never write [AIRTABLE_READ_ONLY]
  --toolsets <a,b|all>       Toolsets: records,schema,analysis (default), bulk, schema_edit, comments, automation [AIRTABLE_TOOLSETS]
  --max-response-tokens <n>  Budget for one tool result, default 20000 [MAX_RESPONSE_TOKENS]
  --airtable-url <url>       Airtable API origin, default https://api.airtable.com [AIRTABLE_BASE_URL]
  --timeout-ms <n>           Per-request timeout towards Airtable, default 30000 [AIRTABLE_TIMEOUT_MS]
  --log-level <level>        fatal|error|warn|info|debug|trace|silent, default info; logs go to stderr [LOG_LEVEL]
HTTP options (with --transport http):
  --transport <stdio|http>   Transport, default stdio [MCP_TRANSPORT]
  --port <n>                 HTTP port, default 8001 [PORT]
  --host <addr>              Interface, default 127.0.0.1 [MCP_HOST]
  --base-path <path>         Mount under a path behind a gateway, e.g. /airtable [BASE_PATH]
  --stateless                No sessions: any replica serves any request [MCP_STATELESS]
  --no-auth                  Allow serving without API keys on a non-loopback interface [MCP_NO_AUTH]
  --keys-file <file>         API keys, one per line (also API_KEY, API_KEYS) [API_KEYS_FILE]
  --allowed-hosts <a,b>      Host headers to accept (DNS-rebinding protection) [ALLOWED_HOSTS]
  --cors-origins <a,b>       Browser origins allowed to call the server [CORS_ORIGINS]
  --trust-proxy <value>      Express trust proxy: true, a hop count, or addresses [TRUST_PROXY]
  --data-dir <dir>           SQLite store directory, default ~/.local/share/airtable-mcp-kit [DATA_DIR]
  DATABASE_URL (PostgreSQL, shared by replicas), DB_POOL_SIZE and REDIS_URL select server mode storage.
  MODULES picks the hosted server's modules (console, orchestrator, saga; all or none).
  More in the README: RATE_LIMIT_RPM, MAX_BODY_BYTES, MAX_SESSIONS, SESSION_IDLE_MS, METRICS_ENABLED,
  METRICS_TOKEN, METRICS_PUBLIC, SHUTDOWN_GRACE_MS.

  The token is read from AIRTABLE_TOKEN (or AIRTABLE_API_KEY, AIRTABLE_PAT).
  AIRTABLE_BASE_RPS / AIRTABLE_TOKEN_RPS change the client's throttle (default 5 and 50 requests/s; 0 = none):
  only for endpoints that are not Airtable, such as a sandbox without limits.

Sandbox options (with the sandbox command):
  --port <n>                 Port, default 8787 (0 picks a free one) [SANDBOX_PORT]
  --host <addr>              Interface, default 127.0.0.1 [SANDBOX_HOST]
  --data <file>              Keep data in this SQLite file (default: in memory) [SANDBOX_DATA]
  --seed <demo|empty>        Start with the demo bases (default) or one empty base [SANDBOX_SEED]
  --token <token>            The one accepted token, default patSandbox.localdevtoken [SANDBOX_TOKEN]
  --control-token <token>    Require this bearer token on /_sandbox/* (stats, reset, faults) [SANDBOX_CONTROL_TOKEN]
  --no-rate-limit            Turn off Airtable's 5 req/s per base and 50 req/s per token limits [SANDBOX_RATE_LIMIT=0]

  -h, --help                 Show this help
  -v, --version              Print the version
`;

const OPTIONS = {
  sandbox: { type: 'boolean' },
  base: { type: 'string' },
  'read-only': { type: 'boolean' },
  toolsets: { type: 'string' },
  'max-response-tokens': { type: 'string' },
  'airtable-url': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  seed: { type: 'string' },
  token: { type: 'string' },
  'control-token': { type: 'string' },
  'rate-limit': { type: 'boolean' },
  transport: { type: 'string' },
  'base-path': { type: 'string' },
  stateless: { type: 'boolean' },
  'no-auth': { type: 'boolean' },
  'keys-file': { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'cors-origins': { type: 'string' },
  'trust-proxy': { type: 'string' },
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  status: { type: 'boolean' },
  'no-rate-limit': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function parseCommandLine(argv: string[]): { command: string; args: string[]; values: Values } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    const [command = 'serve', ...rest] = positionals;
    const allowed = command === 'keys' ? 2 : 0;
    if (rest.length > allowed) throw new UsageError(`unexpected argument "${rest[allowed]}"`);
    return { command, args: rest, values };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

function toFlags(values: Values, command: string): ConfigFlags {
  // --port and --host name the sandbox's address for the sandbox command, the HTTP server's otherwise.
  const sandboxCommand = command === 'sandbox';
  return {
    port: sandboxCommand ? values.port : undefined,
    host: sandboxCommand ? values.host : undefined,
    httpPort: sandboxCommand ? undefined : values.port,
    httpHost: sandboxCommand ? undefined : values.host,
    transport: values.transport,
    basePath: values['base-path'],
    stateless: values.stateless,
    noAuth: values['no-auth'],
    keysFile: values['keys-file'],
    allowedHosts: values['allowed-hosts'],
    corsOrigins: values['cors-origins'],
    trustProxy: values['trust-proxy'],
    dataDir: values['data-dir'],
    sandbox: values.sandbox,
    readOnly: values['read-only'],
    toolsets: values.toolsets,
    base: values.base,
    airtableUrl: values['airtable-url'],
    timeoutMs: values['timeout-ms'],
    maxResponseTokens: values['max-response-tokens'],
    logLevel: values['log-level'],
    data: values.data,
    seed: values.seed,
    token: values.token,
    controlToken: values['control-token'],
    rateLimit: values['no-rate-limit'] ? false : values['rate-limit'],
  };
}

function fail(message: string): never {
  process.stderr.write(`airtable-mcp-kit: ${message}\n`);
  process.exit(EXIT_USAGE);
}

async function main(argv: string[]): Promise<void> {
  const { command, args, values } = parseCommandLine(argv);
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (command === 'keys' && args[0] === 'generate') return runKeysGenerate();
  const config = loadConfig(toFlags(values, command));
  switch (command) {
    case 'keys':
      return withStore(config, (store, cli) =>
        cli.runKeys(store, process.stdout, [...args, ...nameArgs(values)]),
      );
    case 'migrate':
      return withStore(
        config,
        (store, cli) => cli.runMigrate(store, process.stdout, { status: values.status ?? false }),
        {
          migrate: !values.status,
        },
      );
    case 'serve':
      if (config.http.transport === 'http')
        return (await import('./transports/http/index.js')).runHttp(config);
      return (await import('./transports/stdio.js')).runStdio(config);
    case 'sandbox':
      return runSandbox(config);
    default:
      throw new UsageError(`unknown command "${command}"; run airtable-mcp-kit --help`);
  }
}

async function runKeysGenerate(): Promise<void> {
  (await import('./store/api-keys.js')).runKeysGenerate(process.stdout);
}

function nameArgs(values: Values): string[] {
  return values.name === undefined ? [] : ['--name', values.name];
}

type StoreCli = typeof import('./store/cli.js');

/** Open the configured store (SQLite or PostgreSQL), run a store command, exit with its code. */
async function withStore(
  config: Config,
  run: (store: import('./store/types.js').Store, cli: StoreCli) => Promise<number> | number,
  options: { migrate?: boolean } = {},
): Promise<void> {
  const [{ openStore }, cli] = await Promise.all([import('./store/index.js'), import('./store/cli.js')]);
  const { dataDir, databaseUrl, poolSize } = config.store;
  const store = await openStore({
    databaseUrl,
    poolSize,
    ...(dataDir === ':memory:' ? { sqliteFile: ':memory:' } : { dataDir }),
    migrate: options.migrate ?? true,
  });
  try {
    process.exitCode = await run(store, cli);
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

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof ConfigError) fail(error.message);
  process.stderr.write(`airtable-mcp-kit: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
