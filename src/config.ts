/**
 * Configuration: every core option declared once (its flag, env vars,
 * validation, default and help line; see app/options.ts), filled from
 * command-line flags and environment variables (flags win), validated once
 * at start. The CLI's flag parser and `--help` are generated from the same
 * declarations, and from each module's section.
 */
import { z } from 'zod';
import { BASE_ID_PATTERN } from './airtable/ids.js';
import type { ModuleDefinition } from './app/module.js';
import { MODULES } from './app/modules.js';
import {
  booleanish,
  type Env,
  type HelpSection,
  type OptionSection,
  option,
  positiveInt,
  rawSection,
  rawValue,
  sectionSchema,
  stringList,
} from './app/options.js';
import { DEFAULT_TOOLSETS, TOOLSETS, type ToolsetName } from './tools/toolsets.js';

export { BASE_ID_PATTERN };
export const AIRTABLE_TOKEN_ENV = ['AIRTABLE_TOKEN', 'AIRTABLE_API_KEY', 'AIRTABLE_PAT'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const toolsetList = stringList.pipe(
  z.array(
    z.enum(Object.keys(TOOLSETS) as [ToolsetName, ...ToolsetName[]], {
      error: (issue) =>
        `unknown toolset "${String(issue.input)}"; choose from ${Object.keys(TOOLSETS).join(', ')} (or "all")`,
    }),
  ),
);

const airtableOptions = {
  token: option({
    // Optional only when the sandbox is used (checked where the target is resolved).
    schema: z.string().trim().min(1).optional(),
    env: AIRTABLE_TOKEN_ENV,
    secret: true,
    help: 'Airtable personal access token; required unless --sandbox; never logged',
  }),
  defaultBase: option({
    schema: z
      .string()
      .regex(BASE_ID_PATTERN, 'must be a base id like appXXXXXXXXXXXXXX (17 characters)')
      .optional(),
    env: ['AIRTABLE_BASE', 'AIRTABLE_BASE_ID'],
    flag: 'base',
    arg: '<appId>',
    help: 'Default base when a tool call omits base_id',
  }),
  baseUrl: option({
    schema: z.url({ protocol: /^https?$/ }).default('https://api.airtable.com'),
    env: 'AIRTABLE_BASE_URL',
    flag: 'airtable-url',
    arg: '<url>',
    help: 'Airtable API origin, default https://api.airtable.com',
  }),
  timeoutMs: option({
    schema: positiveInt(30_000),
    env: 'AIRTABLE_TIMEOUT_MS',
    flag: 'timeout-ms',
    arg: '<n>',
    help: 'Per-request timeout towards Airtable, default 30000',
  }),
  maxRetries: option({
    schema: z.coerce.number().int().min(0).max(20).default(5),
    env: 'AIRTABLE_MAX_RETRIES',
    help: 'Retries after a 429, 502/503/504 or network error, default 5',
    more: true,
  }),
  // Client-side throttle per base and per token, requests per second; 0 = none. Unset: Airtable's 5 and 50.
  baseRps: option({
    schema: z.coerce.number().int().min(0).max(10_000).optional(),
    env: 'AIRTABLE_BASE_RPS',
    help: "The client's throttle per base in requests/s, default 5 (Airtable's limit); 0 = none",
    more: true,
  }),
  tokenRps: option({
    schema: z.coerce.number().int().min(0).max(10_000).optional(),
    env: 'AIRTABLE_TOKEN_RPS',
    help: "The client's throttle per token in requests/s, default 50 (Airtable's limit); 0 = none",
    more: true,
  }),
};

const toolsOptions = {
  readOnly: option({
    schema: booleanish.default(false),
    env: 'AIRTABLE_READ_ONLY',
    flag: 'read-only',
    boolean: true,
    help: 'Register only tools that never write',
  }),
  toolsets: option({
    schema: toolsetList.default([...DEFAULT_TOOLSETS]),
    env: 'AIRTABLE_TOOLSETS',
    flag: 'toolsets',
    arg: '<a,b|all>',
    help: `Toolsets: ${DEFAULT_TOOLSETS.join(',')} (default), ${Object.keys(TOOLSETS)
      .filter((name) => !DEFAULT_TOOLSETS.includes(name as ToolsetName))
      .join(', ')}`,
    prepare: (raw) =>
      typeof raw === 'string' && raw.trim().toLowerCase() === 'all' ? Object.keys(TOOLSETS) : raw,
  }),
  // Budget for one tool result, in tokens (≈ 4 characters each).
  maxResponseTokens: option({
    schema: z.coerce.number().int().min(1_000).max(1_000_000).default(20_000),
    env: 'MAX_RESPONSE_TOKENS',
    flag: 'max-response-tokens',
    arg: '<n>',
    help: 'Budget for one tool result, default 20000',
  }),
};

const sandboxOptions = {
  // Run the MCP server against an in-process sandbox instead of Airtable.
  enabled: option({
    schema: booleanish.default(false),
    env: 'AIRTABLE_SANDBOX',
    flag: 'sandbox',
    boolean: true,
    help: 'Use an in-process sandbox with a demo base; no token needed',
  }),
  port: option({
    schema: port(8787),
    env: 'SANDBOX_PORT',
    flag: 'port',
    arg: '<n>',
    commands: ['sandbox'],
    help: 'sandbox command: port, default 8787 (0 picks a free one)',
  }),
  host: option({
    schema: z.string().default('127.0.0.1'),
    env: 'SANDBOX_HOST',
    flag: 'host',
    arg: '<addr>',
    commands: ['sandbox'],
    help: 'sandbox command: interface, default 127.0.0.1',
  }),
  dataFile: option({
    schema: z.string().min(1).optional(),
    env: 'SANDBOX_DATA',
    flag: 'data',
    arg: '<file>',
    help: "Keep the sandbox's data in this SQLite file (default: in memory)",
  }),
  seed: option({
    schema: z.enum(['demo', 'empty']).default('demo'),
    env: 'SANDBOX_SEED',
    flag: 'seed',
    arg: '<demo|empty>',
    help: 'Start with the demo bases (default) or one empty base',
  }),
  token: option({
    schema: z.string().min(1).optional(),
    env: 'SANDBOX_TOKEN',
    flag: 'token',
    arg: '<token>',
    secret: true,
    help: 'The one token the sandbox accepts, default patSandbox.localdevtoken',
  }),
  // When set, the sandbox's /_sandbox/* control routes require it as a bearer token.
  controlToken: option({
    schema: z.string().min(1).optional(),
    env: 'SANDBOX_CONTROL_TOKEN',
    flag: 'control-token',
    arg: '<token>',
    secret: true,
    help: 'Require this bearer token on /_sandbox/* (stats, reset, faults)',
  }),
  rateLimit: option({
    schema: booleanish.default(true),
    env: 'SANDBOX_RATE_LIMIT',
    flag: 'rate-limit',
    boolean: true,
    negatable: true,
    help: "Airtable's 5 req/s per base and 50 req/s per token limits, default on (--no-rate-limit: off)",
  }),
};

const httpOptions = {
  transport: option({
    schema: z.enum(['stdio', 'http']).default('stdio'),
    env: 'MCP_TRANSPORT',
    flag: 'transport',
    arg: '<stdio|http>',
    help: 'Transport, default stdio',
  }),
  port: option({
    schema: port(8001),
    env: 'PORT',
    flag: 'port',
    id: 'httpPort',
    arg: '<n>',
    help: 'HTTP port, default 8001',
  }),
  host: option({
    schema: z.string().min(1).default('127.0.0.1'),
    env: 'MCP_HOST',
    flag: 'host',
    id: 'httpHost',
    arg: '<addr>',
    help: 'Interface, default 127.0.0.1',
  }),
  // Mount point behind a gateway, e.g. /airtable; empty for the root.
  basePath: option({
    schema: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'must be empty or like /path (no trailing slash)')
      .default(''),
    env: 'BASE_PATH',
    flag: 'base-path',
    arg: '<path>',
    help: 'Mount under a path behind a gateway, e.g. /airtable',
  }),
  // Serve every request without a session (for replicas behind a load balancer).
  stateless: option({
    schema: booleanish.default(false),
    env: 'MCP_STATELESS',
    flag: 'stateless',
    boolean: true,
    help: 'No sessions: any replica serves any request',
  }),
  // Listen without API keys on a non-loopback interface. Must be explicit.
  noAuth: option({
    schema: booleanish.default(false),
    env: 'MCP_NO_AUTH',
    flag: 'no-auth',
    boolean: true,
    help: 'Allow serving without API keys on a non-loopback interface',
  }),
  apiKey: option({
    schema: z.string().optional(),
    env: 'API_KEY',
    secret: true,
    help: 'An accepted API key (make one with: keys generate)',
  }),
  apiKeys: option({
    schema: z.string().optional(),
    env: 'API_KEYS',
    secret: true,
    help: 'Accepted API keys, comma-separated',
  }),
  keysFile: option({
    schema: z.string().optional(),
    env: 'API_KEYS_FILE',
    flag: 'keys-file',
    arg: '<file>',
    help: 'API keys, one per line',
  }),
  allowedHosts: option({
    schema: stringList.default([]),
    env: 'ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    arg: '<a,b>',
    help: 'Host headers to accept (DNS-rebinding protection)',
  }),
  corsOrigins: option({
    schema: stringList.default([]),
    env: 'CORS_ORIGINS',
    flag: 'cors-origins',
    arg: '<a,b>',
    help: 'Browser origins allowed to call the server',
  }),
  // Express "trust proxy": false, true, a hop count, or addresses/subnets.
  trustProxy: option({
    schema: z.string().default('false'),
    env: 'TRUST_PROXY',
    flag: 'trust-proxy',
    arg: '<value>',
    help: 'Express trust proxy: true, a hop count, or addresses, default false',
  }),
  metricsPublic: option({
    schema: booleanish.default(false),
    env: 'METRICS_PUBLIC',
    flag: 'metrics-public',
    boolean: true,
    help: 'Serve /metrics without a credential even when API keys are required (default: a key or METRICS_TOKEN)',
  }),
  maxBodyBytes: option({
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    env: 'MAX_BODY_BYTES',
    help: 'Largest JSON body, default 4194304 (4 MiB)',
    more: true,
  }),
  // Requests per minute per API key (per IP without auth); 0 = unlimited.
  rateLimitRpm: option({
    schema: z.coerce.number().int().min(0).default(600),
    env: 'RATE_LIMIT_RPM',
    help: 'Requests a minute per API key (per address without keys), default 600; 0 = unlimited',
    more: true,
  }),
  sessionIdleMs: option({
    schema: z.coerce
      .number()
      .int()
      .min(1_000)
      .default(30 * 60_000),
    env: 'SESSION_IDLE_MS',
    help: 'An idle MCP session is closed after this long, default 1800000 (30 minutes)',
    more: true,
  }),
  maxSessions: option({
    schema: z.coerce.number().int().min(1).default(1_000),
    env: 'MAX_SESSIONS',
    help: 'Most open MCP sessions, default 1000',
    more: true,
  }),
  // Sessions one API key may hold, so one client cannot take them all.
  maxSessionsPerKey: option({
    schema: z.coerce.number().int().min(1).default(250),
    env: 'MAX_SESSIONS_PER_KEY',
    help: 'Most open MCP sessions of one API key, default 250',
    more: true,
  }),
  metrics: option({
    schema: booleanish.default(true),
    env: 'METRICS_ENABLED',
    help: 'Serve /metrics, default on',
    more: true,
  }),
  metricsToken: option({
    schema: z.string().min(1).optional(),
    env: 'METRICS_TOKEN',
    secret: true,
    help: 'A bearer token for /metrics (for scrapers)',
    more: true,
  }),
  shutdownGraceMs: option({
    schema: z.coerce.number().int().min(0).default(10_000),
    env: 'SHUTDOWN_GRACE_MS',
    help: 'How long open requests may finish on shutdown, default 10000',
    more: true,
  }),
  /**
   * How long a session's stream events are kept so a client that lost its
   * connection can resume with Last-Event-ID. Every message of every stream
   * (tool results included) is kept that long, so this bounds the memory
   * (or Redis) the event store uses; 0 turns resumability off.
   */
  streamResumeSeconds: option({
    schema: z.coerce.number().int().min(0).max(86_400).default(300),
    env: 'STREAM_RESUME_SECONDS',
    help: 'How long stream events are kept for Last-Event-ID resumption (s), default 300; 0 = off',
    more: true,
  }),
};

const storeOptions = {
  // ':memory:' keeps nothing.
  dataDir: option({
    schema: z.string().min(1).optional(),
    env: 'DATA_DIR',
    flag: 'data-dir',
    arg: '<dir>',
    help: 'SQLite store directory, default ~/.local/share/airtable-mcp-kit',
  }),
  // Without it, SQLite.
  databaseUrl: option({
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    env: 'DATABASE_URL',
    secret: true,
    help: 'postgres://… : PostgreSQL instead of SQLite, shared by replicas',
  }),
  poolSize: option({
    schema: z.coerce.number().int().min(1).max(200).default(10),
    env: 'DB_POOL_SIZE',
    help: 'PostgreSQL connections per process, default 10',
  }),
  // Without it, in-process equivalents.
  redisUrl: option({
    schema: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    env: 'REDIS_URL',
    secret: true,
    help: 'redis://… : what replicas share (rate limiter, schema cache, stream events)',
  }),
  // So several deployments can share one Redis.
  redisKeyPrefix: option({
    schema: z.string().min(1).max(64).default('amk:'),
    env: 'REDIS_KEY_PREFIX',
    help: 'Prefix of every Redis key, default amk:',
    more: true,
  }),
};

/** Options whose values sit at the top of the Config. */
const generalOptions = {
  logLevel: option({
    schema: z.enum(LOG_LEVELS).default('info'),
    env: 'LOG_LEVEL',
    flag: 'log-level',
    arg: '<level>',
    help: `${LOG_LEVELS.join('|')}, default info; logs go to stderr`,
  }),
  // Unset: every module whose requirements are met in HTTP mode, none on stdio.
  modules: option({
    schema: stringList.optional(),
    env: 'MODULES',
    flag: 'modules',
    arg: '<a,b|all|none>',
    help: 'Modules to run (default: all that can in HTTP mode, none on stdio)',
  }),
};

/** The core's sections: `config.<key>` (general: top-level values), with their --help titles. */
export const CORE_SECTIONS = {
  general: { title: 'General options', options: generalOptions },
  airtable: { title: 'Airtable options', options: airtableOptions },
  tools: { title: 'Tool options', options: toolsOptions },
  sandbox: { title: 'Sandbox options (--sandbox, and the sandbox command)', options: sandboxOptions },
  http: { title: 'HTTP options (with --transport http)', options: httpOptions },
  store: { title: 'Store options (HTTP mode, modules, keys and migrate)', options: storeOptions },
} as const satisfies Record<string, HelpSection>;

const generalSchema = sectionSchema(generalOptions);

export const ConfigSchema = z.object({
  airtable: sectionSchema(airtableOptions),
  tools: sectionSchema(toolsOptions),
  sandbox: sectionSchema(sandboxOptions),
  http: sectionSchema(httpOptions),
  store: sectionSchema(storeOptions),
  ...generalSchema.shape,
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** Each module's config section, validated from its declared options (app/options.ts). */
  sections: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Flags as parsed by the CLI (see cli.ts), keyed by option id (see
 * OptionSpec.id); `undefined` means "not given".
 */
export interface ConfigFlags {
  sandbox?: boolean;
  readOnly?: boolean;
  toolsets?: string;
  base?: string;
  airtableUrl?: string;
  timeoutMs?: string;
  maxResponseTokens?: string;
  logLevel?: string;
  /** The sandbox command's port/host. */
  port?: string;
  host?: string;
  /** The HTTP transport's port/host. */
  httpPort?: string;
  httpHost?: string;
  transport?: string;
  basePath?: string;
  stateless?: boolean;
  noAuth?: boolean;
  keysFile?: string;
  allowedHosts?: string;
  corsOrigins?: string;
  trustProxy?: string;
  dataDir?: string;
  data?: string;
  seed?: string;
  token?: string;
  controlToken?: string;
  rateLimit?: boolean;
  metricsPublic?: boolean;
  modules?: string;
  /** Module options, keyed by their ids (see each module's options). */
  [moduleOption: string]: unknown;
}

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** A section to validate: its options, and where its values and issues go (`[]`: the top of the Config). */
interface SectionSource {
  path: readonly string[];
  options: OptionSection;
  /** Its schema when already built (the core's, in ConfigSchema). */
  schema?: z.ZodType;
}

function describeIssues(issues: readonly Issue[]): string {
  return issues
    .map((issue) => {
      const where = issue.path.length ? `${issue.path.map(String).join('.')}: ` : '';
      return `${where}${issue.message}`;
    })
    .join('; ');
}

/** One section's values; its issues (under the section's path) go to `issues`, a secret's value never in them. */
function parseSection(source: SectionSource, flags: ConfigFlags, env: Env, issues: Issue[]) {
  const schema = source.schema ?? sectionSchema(source.options);
  // Parsed once per start: zod's compiled fast path (built with new Function on first parse) costs
  // more to build than it saves here.
  const parsed = schema.safeParse(rawSection(source.options, flags, env), { jitless: true });
  if (parsed.success) return parsed.data as Record<string, unknown>;
  for (const issue of parsed.error.issues) {
    const spec = source.options[String(issue.path[0])];
    const raw = spec?.secret ? rawValue(spec, flags, env) : undefined;
    const echoed = typeof raw === 'string' && raw !== '' && issue.message.includes(raw);
    issues.push({
      path: [...source.path, ...issue.path],
      message: echoed ? 'invalid value (not shown: it is a secret)' : issue.message,
    });
  }
  return {};
}

/**
 * Read and validate the configuration: the core's sections and each
 * module's, from the same flags and env. Throws ConfigError with one
 * readable line naming every invalid value.
 */
export function loadConfig(
  flags: ConfigFlags = {},
  env: Env = process.env,
  modules: readonly ModuleDefinition[] = MODULES,
): Config {
  const issues: Issue[] = [];
  const core: Record<string, unknown> = {};
  for (const key of ['airtable', 'tools', 'sandbox', 'http', 'store'] as const) {
    const source = { path: [key], options: CORE_SECTIONS[key].options, schema: ConfigSchema.shape[key] };
    core[key] = parseSection(source, flags, env, issues);
  }
  const general = { path: [], options: generalOptions, schema: generalSchema };
  Object.assign(core, parseSection(general, flags, env, issues));
  const sections: Record<string, Record<string, unknown>> = {};
  for (const module of modules) {
    if (!module.options) continue;
    sections[module.name] = parseSection(
      { path: [module.name], options: module.options },
      flags,
      env,
      issues,
    );
  }
  if (issues.length) throw new ConfigError(`Invalid configuration: ${describeIssues(issues)}`);
  return { ...(core as z.infer<typeof ConfigSchema>), sections };
}
