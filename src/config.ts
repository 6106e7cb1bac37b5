/**
 * Configuration: one zod schema, filled from command-line flags and
 * environment variables (flags win), validated once at start.
 */
import { z } from 'zod';
import type { ModuleDefinition } from './app/module.js';
import { MODULES } from './app/modules.js';
import { rawSection, sectionSchema } from './app/options.js';
import { DEFAULT_TOOLSETS, TOOLSETS, type ToolsetName } from './tools/toolsets.js';

export const AIRTABLE_TOKEN_ENV = ['AIRTABLE_TOKEN', 'AIRTABLE_API_KEY', 'AIRTABLE_PAT'] as const;
export const BASE_ID_PATTERN = /^app[A-Za-z0-9]{14}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanish = z.union([
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

const stringList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const toolsetList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .pipe(
    z.array(
      z.enum(Object.keys(TOOLSETS) as [ToolsetName, ...ToolsetName[]], {
        error: (issue) =>
          `unknown toolset "${String(issue.input)}"; choose from ${Object.keys(TOOLSETS).join(', ')} (or "all")`,
      }),
    ),
  );

export const ConfigSchema = z.object({
  airtable: z.object({
    /** Personal access token; optional only when the sandbox is used. */
    token: z.string().trim().min(1).optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.airtable.com'),
    defaultBase: z
      .string()
      .regex(BASE_ID_PATTERN, 'must be a base id like appXXXXXXXXXXXXXX (17 characters)')
      .optional(),
    timeoutMs: positiveInt(30_000),
    maxRetries: z.coerce.number().int().min(0).max(20).default(5),
    /** Client-side throttle per base and per token, requests per second; 0 = none. Unset: Airtable's 5 and 50. */
    baseRps: z.coerce.number().int().min(0).max(10_000).optional(),
    tokenRps: z.coerce.number().int().min(0).max(10_000).optional(),
  }),
  tools: z.object({
    readOnly: booleanish.default(false),
    toolsets: toolsetList.default([...DEFAULT_TOOLSETS]),
    /** Budget for one tool result, in tokens (≈ 4 characters each). */
    maxResponseTokens: z.coerce.number().int().min(1_000).max(1_000_000).default(20_000),
  }),
  sandbox: z.object({
    /** Run the MCP server against an in-process sandbox instead of Airtable. */
    enabled: booleanish.default(false),
    port: z.coerce.number().int().min(0).max(65_535).default(8787),
    host: z.string().default('127.0.0.1'),
    dataFile: z.string().min(1).optional(),
    seed: z.enum(['demo', 'empty']).default('demo'),
    token: z.string().min(1).optional(),
    /** When set, the sandbox's /_sandbox/* control routes require it as a bearer token. */
    controlToken: z.string().min(1).optional(),
    rateLimit: booleanish.default(true),
  }),
  http: z.object({
    transport: z.enum(['stdio', 'http']).default('stdio'),
    port: z.coerce.number().int().min(0).max(65_535).default(8001),
    host: z.string().min(1).default('127.0.0.1'),
    /** Mount point behind a gateway, e.g. /airtable; empty for the root. */
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'must be empty or like /path (no trailing slash)')
      .default(''),
    /** Serve every request without a session (for replicas behind a load balancer). */
    stateless: booleanish.default(false),
    /** Listen without API keys on a non-loopback interface. Must be explicit. */
    noAuth: booleanish.default(false),
    apiKey: z.string().optional(),
    apiKeys: z.string().optional(),
    keysFile: z.string().optional(),
    allowedHosts: stringList.default([]),
    corsOrigins: stringList.default([]),
    maxBodyBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** Requests per minute per API key (per IP without auth); 0 = unlimited. */
    rateLimitRpm: z.coerce.number().int().min(0).default(600),
    sessionIdleMs: z.coerce
      .number()
      .int()
      .min(1_000)
      .default(30 * 60_000),
    maxSessions: z.coerce.number().int().min(1).default(1_000),
    /** Sessions one API key may hold, so one client cannot take them all. */
    maxSessionsPerKey: z.coerce.number().int().min(1).default(250),
    /** Express "trust proxy": false, true, a hop count, or addresses/subnets. */
    trustProxy: z.string().default('false'),
    metrics: booleanish.default(true),
    metricsToken: z.string().min(1).optional(),
    /** Serve /metrics without a credential even when API keys are required (default: keys or METRICS_TOKEN). */
    metricsPublic: booleanish.default(false),
    shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
    /**
     * How long a session's stream events are kept so a client that lost its
     * connection can resume with Last-Event-ID. Every message of every stream
     * (tool results included) is kept that long, so this bounds the memory
     * (or Redis) the event store uses; 0 turns resumability off.
     */
    streamResumeSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
  }),
  store: z.object({
    /** SQLite data directory (default ~/.local/share/airtable-mcp-kit); ':memory:' keeps nothing. */
    dataDir: z.string().min(1).optional(),
    /** postgres://… to share state between replicas; without it, SQLite. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    poolSize: z.coerce.number().int().min(1).max(200).default(10),
    /** redis://… for what replicas share (rate limiter, cache, event store); without it, in-process equivalents. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    /** Prefix of every Redis key, so several deployments can share one Redis. */
    redisKeyPrefix: z.string().min(1).max(64).default('amk:'),
  }),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Modules to run: names, 'all' or 'none'; unset: every module whose requirements are met in HTTP mode, none on stdio. */
  modules: stringList.optional(),
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** Each module's config section, validated from its declared options (app/options.ts). */
  sections: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
};
type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags as parsed by the CLI (see cli.ts); `undefined` means "not given". */
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

type Env = Record<string, string | undefined>;

function firstEnv(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function expandToolsets(value: string | undefined): string | string[] | undefined {
  if (value === undefined) return undefined;
  return value.trim().toLowerCase() === 'all' ? Object.keys(TOOLSETS) : value;
}

/** Merge flags over env into the raw shape the schema parses. */
function rawConfig(flags: ConfigFlags, env: Env): ConfigInput {
  return {
    airtable: {
      token: firstEnv(env, AIRTABLE_TOKEN_ENV),
      baseUrl: flags.airtableUrl ?? env.AIRTABLE_BASE_URL,
      defaultBase: flags.base ?? firstEnv(env, ['AIRTABLE_BASE', 'AIRTABLE_BASE_ID']),
      timeoutMs: flags.timeoutMs ?? env.AIRTABLE_TIMEOUT_MS,
      maxRetries: env.AIRTABLE_MAX_RETRIES,
      baseRps: env.AIRTABLE_BASE_RPS,
      tokenRps: env.AIRTABLE_TOKEN_RPS,
    },
    tools: {
      readOnly: flags.readOnly ?? env.AIRTABLE_READ_ONLY,
      toolsets: expandToolsets(flags.toolsets ?? env.AIRTABLE_TOOLSETS),
      maxResponseTokens: flags.maxResponseTokens ?? env.MAX_RESPONSE_TOKENS,
    },
    sandbox: {
      enabled: flags.sandbox ?? env.AIRTABLE_SANDBOX,
      port: flags.port ?? env.SANDBOX_PORT,
      host: flags.host ?? env.SANDBOX_HOST,
      dataFile: flags.data ?? env.SANDBOX_DATA,
      seed: flags.seed ?? env.SANDBOX_SEED,
      token: flags.token ?? env.SANDBOX_TOKEN,
      controlToken: flags.controlToken ?? env.SANDBOX_CONTROL_TOKEN,
      rateLimit: flags.rateLimit ?? env.SANDBOX_RATE_LIMIT,
    },
    http: {
      transport: flags.transport ?? env.MCP_TRANSPORT,
      port: flags.httpPort ?? env.PORT,
      host: flags.httpHost ?? env.MCP_HOST,
      basePath: flags.basePath ?? env.BASE_PATH,
      stateless: flags.stateless ?? env.MCP_STATELESS,
      noAuth: flags.noAuth ?? env.MCP_NO_AUTH,
      apiKey: env.API_KEY,
      apiKeys: env.API_KEYS,
      keysFile: flags.keysFile ?? env.API_KEYS_FILE,
      allowedHosts: flags.allowedHosts ?? env.ALLOWED_HOSTS,
      corsOrigins: flags.corsOrigins ?? env.CORS_ORIGINS,
      maxBodyBytes: env.MAX_BODY_BYTES,
      rateLimitRpm: env.RATE_LIMIT_RPM,
      sessionIdleMs: env.SESSION_IDLE_MS,
      maxSessions: env.MAX_SESSIONS,
      maxSessionsPerKey: env.MAX_SESSIONS_PER_KEY,
      trustProxy: flags.trustProxy ?? env.TRUST_PROXY,
      metrics: env.METRICS_ENABLED,
      metricsToken: env.METRICS_TOKEN,
      metricsPublic: flags.metricsPublic ?? env.METRICS_PUBLIC,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      streamResumeSeconds: env.STREAM_RESUME_SECONDS,
    },
    store: {
      dataDir: flags.dataDir ?? env.DATA_DIR,
      databaseUrl: env.DATABASE_URL,
      poolSize: env.DB_POOL_SIZE,
      redisUrl: env.REDIS_URL,
      redisKeyPrefix: env.REDIS_KEY_PREFIX,
    },
    logLevel: flags.logLevel ?? env.LOG_LEVEL,
    modules: flags.modules ?? env.MODULES,
  } as ConfigInput;
}

/** Drop undefined leaves so schema defaults apply. */
function withoutUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      return `${where}${issue.message}`;
    })
    .join('; ');
}

/** Read and validate the configuration. Throws ConfigError with one readable line. */
export function loadConfig(
  flags: ConfigFlags = {},
  env: Env = process.env,
  modules: readonly ModuleDefinition[] = MODULES,
): Config {
  const parsed = ConfigSchema.safeParse(withoutUndefined(rawConfig(flags, env)));
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${describeIssues(parsed.error)}`);
  return { ...parsed.data, sections: loadSections(flags, env, modules) };
}

/** Every module's section, from the same flags and env, validated by its declared schemas. */
function loadSections(
  flags: ConfigFlags,
  env: Env,
  modules: readonly ModuleDefinition[],
): Config['sections'] {
  const sections: Record<string, Record<string, unknown>> = {};
  for (const module of modules) {
    if (!module.options) continue;
    const parsed = sectionSchema(module.options).safeParse(rawSection(module.options, flags, env));
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ ...issue, path: [module.name, ...issue.path] }));
      throw new ConfigError(`Invalid configuration: ${describeIssues({ issues } as z.ZodError)}`);
    }
    sections[module.name] = parsed.data as Record<string, unknown>;
  }
  return sections;
}
