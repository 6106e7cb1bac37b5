/**
 * Logging: pino, JSON lines on stderr only. stdout belongs to JSON-RPC in
 * stdio mode, so nothing in this package may write there.
 */
import { type Logger, pino } from 'pino';

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

export function createLogger(level = 'info', name = 'airtable-mcp-kit'): Logger {
  return pino(
    { name, level, base: { name }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: the default for embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
