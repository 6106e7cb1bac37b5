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
  airtable-mcp-kit [serve] [options]   Run the MCP server over stdio (what MCP clients launch)
  airtable-mcp-kit sandbox [options]   Run the Airtable-compatible sandbox API server

Server options (env in brackets):
  --sandbox                  Use an in-process sandbox with a demo base; no token needed [AIRTABLE_SANDBOX]
  --base <appId>             Default base when a tool call omits base_id [AIRTABLE_BASE]
  --read-only                Register only tools that never write [AIRTABLE_READ_ONLY]
  --toolsets <a,b|all>       Toolsets: records,schema,analysis (default), bulk, schema_edit, comments [AIRTABLE_TOOLSETS]
  --max-response-tokens <n>  Budget for one tool result, default 20000 [MAX_RESPONSE_TOKENS]
  --airtable-url <url>       Airtable API origin, default https://api.airtable.com [AIRTABLE_BASE_URL]
  --timeout-ms <n>           Per-request timeout towards Airtable, default 30000 [AIRTABLE_TIMEOUT_MS]
  --log-level <level>        fatal|error|warn|info|debug|trace|silent, default info; logs go to stderr [LOG_LEVEL]
  The token is read from AIRTABLE_TOKEN (or AIRTABLE_API_KEY, AIRTABLE_PAT).
  AIRTABLE_BASE_RPS / AIRTABLE_TOKEN_RPS change the client's throttle (default 5 and 50 requests/s; 0 = none):
  only for endpoints that are not Airtable, such as a sandbox without limits.

Sandbox options:
  --port <n>                 Port, default 8787 (0 picks a free one) [SANDBOX_PORT]
  --host <addr>              Interface, default 127.0.0.1 [SANDBOX_HOST]
  --data <file>              Keep data in this SQLite file (default: in memory) [SANDBOX_DATA]
  --seed <demo|empty>        Start with the demo bases (default) or one empty base [SANDBOX_SEED]
  --token <token>            The one accepted token, default patSandbox.localdevtoken [SANDBOX_TOKEN]
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
  'rate-limit': { type: 'boolean' },
  'no-rate-limit': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function parseCommandLine(argv: string[]): { command: string; values: Values } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    return { command: positionals[0] ?? 'serve', values };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

function toFlags(values: Values): ConfigFlags {
  return {
    sandbox: values.sandbox,
    readOnly: values['read-only'],
    toolsets: values.toolsets,
    base: values.base,
    airtableUrl: values['airtable-url'],
    timeoutMs: values['timeout-ms'],
    maxResponseTokens: values['max-response-tokens'],
    logLevel: values['log-level'],
    port: values.port,
    host: values.host,
    data: values.data,
    seed: values.seed,
    token: values.token,
    rateLimit: values['no-rate-limit'] ? false : values['rate-limit'],
  };
}

function fail(message: string): never {
  process.stderr.write(`airtable-mcp-kit: ${message}\n`);
  process.exit(EXIT_USAGE);
}

async function main(argv: string[]): Promise<void> {
  const { command, values } = parseCommandLine(argv);
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  const config = loadConfig(toFlags(values));
  switch (command) {
    case 'serve':
      return (await import('./transports/stdio.js')).runStdio(config);
    case 'sandbox':
      return runSandbox(config);
    default:
      throw new UsageError(`unknown command "${command}"; run airtable-mcp-kit --help`);
  }
}

async function runSandbox(config: Config): Promise<void> {
  const { startSandbox } = await import('./sandbox/index.js');
  const { port, host, dataFile, seed, token, rateLimit } = config.sandbox;
  const sandbox = await startSandbox({
    port,
    host,
    dataFile,
    seed,
    token,
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
