/**
 * Logging: JSON lines on stderr only. stdout belongs to JSON-RPC in stdio
 * mode, so nothing in this package may write there.
 *
 * The lines are pino's (numeric `level`, `time`, `name`, bindings, fields,
 * `msg`; `err` serialized as {type, message, stack}; secrets replaced by
 * `[redacted]`), written by a few dozen lines instead of pino itself: pino and
 * its helpers were ~80 KB of what a stdio start loads. The `Logger` type stays
 * pino's (type-only), so an embedder can still pass a pino logger in.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'airtable.token',
];

const CENSOR = '[redacted]';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;
const LEVEL_NAMES = Object.keys(LEVELS) as LevelName[];

/** 'a.b["c-d"]' → ['a', 'b', 'c-d']. */
function splitPath(path: string): string[] {
  return [...path.matchAll(/([^.[\]"]+)|\["([^"]+)"\]/g)].map((m) => m[1] ?? m[2] ?? '');
}

const REDACTIONS = REDACTED_PATHS.map(splitPath);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Copies only what a redaction changes: the caller's objects are never modified. */
function redactPath(value: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const keys = head === '*' ? Object.keys(value) : Object.hasOwn(value, head) ? [head] : [];
  let out = value;
  for (const key of keys) {
    const child = value[key];
    let next: unknown;
    if (rest.length === 0) next = CENSOR;
    else if (isObject(child)) next = redactPath(child, rest);
    else continue;
    if (next === child) continue;
    if (out === value) out = { ...value };
    out[key] = next;
  }
  return out;
}

function redact(value: Record<string, unknown>): Record<string, unknown> {
  let out = value;
  for (const path of REDACTIONS) out = redactPath(out, path);
  return out;
}

/** pino's std error serializer, in short: type, message, stack and the error's own fields. */
function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.constructor?.name ?? error.name,
    message: error.message,
  };
  out.stack = error.stack;
  for (const [key, value] of Object.entries(error)) if (!(key in out)) out[key] = value;
  if (error.cause !== undefined && out.cause === undefined)
    out.cause = error.cause instanceof Error ? serializeError(error.cause) : error.cause;
  return out;
}

function serializeFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const key of ['err']) {
    const value = fields[key];
    if (value instanceof Error) {
      if (out === fields) out = { ...fields };
      out[key] = serializeError(value);
    }
  }
  return out;
}

type Write = (line: string) => void;

function writeStderr(line: string): void {
  try {
    process.stderr.write(line);
  } catch {
    // A closed stderr must not crash the server.
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
  }
}

class StderrLogger {
  level: string;
  private readonly threshold: number;

  constructor(
    level: string,
    private readonly bindings: Record<string, unknown>,
    private readonly write: Write,
  ) {
    this.level = level;
    this.threshold =
      level === 'silent' ? Number.POSITIVE_INFINITY : (LEVELS[level as LevelName] ?? LEVELS.info);
    for (const name of LEVEL_NAMES) {
      const value = LEVELS[name];
      (this as unknown as Record<string, unknown>)[name] =
        value < this.threshold ? noop : (...args: unknown[]) => this.log(value, args);
    }
  }

  isLevelEnabled(level: string): boolean {
    return (LEVELS[level as LevelName] ?? Number.POSITIVE_INFINITY) >= this.threshold;
  }

  silent(): void {}

  flush(): void {}

  child(bindings: Record<string, unknown>): Logger {
    return new StderrLogger(this.level, { ...this.bindings, ...bindings }, this.write) as unknown as Logger;
  }

  private log(level: number, args: unknown[]): void {
    let [first, ...rest] = args;
    let fields: Record<string, unknown> = {};
    if (first instanceof Error) {
      fields = { err: first };
      if (rest.length === 0) rest = [first.message];
    } else if (isObject(first)) {
      fields = first;
    } else {
      rest = args;
    }
    const [msg, ...params] = rest;
    const line: Record<string, unknown> = {
      level,
      time: Date.now(),
      ...this.bindings,
      ...serializeFields(fields),
    };
    if (msg !== undefined) line.msg = params.length > 0 ? format(msg, ...params) : String(msg);
    this.write(`${safeStringify(redact(line))}\n`);
  }
}

function noop(): void {}

export function createLogger(level = 'info', name = 'airtable-mcp-kit'): Logger {
  return new StderrLogger(level, { name }, writeStderr) as unknown as Logger;
}

/** A logger that drops everything: the default for embedding. */
export function silentLogger(): Logger {
  return new StderrLogger('silent', {}, writeStderr) as unknown as Logger;
}
