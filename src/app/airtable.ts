/**
 * The Airtable side of the root: Airtable itself or an in-process sandbox,
 * the rate limits that apply to it, and the client every tool shares.
 */
import {
  AirtableClient,
  type ClientEvent,
  createMemoryLimiter,
  type RateLimiter,
} from '../airtable/index.js';
import { type Config, ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxHandle } from '../sandbox/options.js';

export interface AirtableTarget {
  baseUrl: string;
  token: string;
  defaultBase?: string;
  sandbox?: SandboxHandle;
}

/** Airtable itself, or an in-process sandbox when --sandbox is given. */
/** The message for a missing token, shared by the server and commands that need Airtable. */
export const NO_TOKEN_HELP =
  'no Airtable token: set AIRTABLE_TOKEN (or AIRTABLE_API_KEY / AIRTABLE_PAT) to a personal access token, or run with --sandbox to try the built-in sandbox.';

/**
 * Where Airtable is. `tokenOptional` (CLI commands such as `users`, which
 * never call Airtable) accepts a missing token: a call would then be refused
 * by Airtable, so commands that need it check `hasAirtable` first.
 */
export async function resolveTarget(
  config: Config,
  options: { tokenOptional?: boolean } = {},
): Promise<AirtableTarget> {
  const { airtable, sandbox } = config;
  if (sandbox.enabled) {
    const { startSandbox } = await import('../sandbox/index.js');
    const handle = await startSandbox({
      port: 0,
      seed: sandbox.seed,
      dataFile: sandbox.dataFile,
      token: sandbox.token,
      rateLimit: sandbox.rateLimit ? {} : false,
    });
    return {
      baseUrl: handle.url,
      token: handle.token,
      defaultBase: airtable.defaultBase ?? handle.baseIds[0],
      sandbox: handle,
    };
  }
  if (!airtable.token) {
    if (options.tokenOptional)
      return { baseUrl: airtable.baseUrl, token: '', defaultBase: airtable.defaultBase };
    throw new ConfigError(NO_TOKEN_HELP);
  }
  return { baseUrl: airtable.baseUrl, token: airtable.token, defaultBase: airtable.defaultBase };
}

/** Whether this config reaches an Airtable (a token, or the sandbox). */
export function hasAirtable(config: Config): boolean {
  return config.sandbox.enabled || Boolean(config.airtable.token);
}

/** Requests per second as a limiter rule; 0 means no throttle (a 429 still pauses the key). */
function rule(perSecond: number) {
  return perSecond > 0
    ? { limit: perSecond, windowMs: 1050, headroomMs: 50 }
    : { limit: Number.MAX_SAFE_INTEGER, windowMs: 1000 };
}

/**
 * Airtable's limits (5/s per base, 50/s per token) unless configured. A sandbox started with its limits off
 * has nothing to protect, so the client does not throttle either.
 */
export function limitRules(config: Config) {
  const unthrottled = config.sandbox.enabled && !config.sandbox.rateLimit;
  const baseRps = config.airtable.baseRps ?? (unthrottled ? 0 : 5);
  const tokenRps = config.airtable.tokenRps ?? (unthrottled ? 0 : 50);
  return { perBase: rule(baseRps), perToken: rule(tokenRps) };
}

export function limiterFor(config: Config): RateLimiter {
  return createMemoryLimiter(limitRules(config));
}

/** Retries are logged; in HTTP mode they are also counted by the metrics. */
export function clientFor(
  config: Config,
  target: AirtableTarget,
  logger: Logger,
  options: { limiter?: RateLimiter; onEvent?: (event: ClientEvent) => void } = {},
): AirtableClient {
  const { timeoutMs, maxRetries } = config.airtable;
  return new AirtableClient({
    limiter: options.limiter ?? limiterFor(config),
    token: target.token,
    baseUrl: target.baseUrl,
    timeoutMs,
    maxRetries,
    // A request with its retries may take longer than one attempt; never cut it before a single attempt could finish.
    deadlineMs: Math.max(120_000, timeoutMs * 2),
    onEvent: (event) => {
      if (event.type === 'rate_limited' || event.type === 'retry')
        logger.warn(event, 'airtable request retried');
      options.onEvent?.(event);
    },
  });
}
