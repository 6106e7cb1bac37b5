import { AmbiguousKeyError } from './sql-store.js';
import type { ApiKeyRecord, Store } from './types.js';

/**
 * `airtable-mcp-kit migrate [--status]` and `airtable-mcp-kit keys create|list|revoke`.
 * The caller opens the store (for `migrate`, with `migrate: false`, so the command
 * itself reports what it applied) and turns the returned number into the exit code.
 */

type Out = NodeJS.WritableStream;

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;

const KEYS_USAGE = [
  'Usage:',
  '  airtable-mcp-kit keys create --name <name>',
  '  airtable-mcp-kit keys list',
  '  airtable-mcp-kit keys revoke <id|prefix>',
].join('\n');

export async function runMigrate(
  store: Store,
  out: Out,
  options: { status?: boolean } = {},
): Promise<number> {
  if (options.status) {
    const migrations = await store.migrationStatus();
    out.write(
      table(
        ['MIGRATION', 'APPLIED'],
        migrations.map((m) => [m.name, m.appliedAt ?? 'pending']),
      ),
    );
    return EXIT_OK;
  }
  const applied = await store.migrate();
  for (const name of applied) out.write(`Applied ${name}\n`);
  out.write(
    applied.length > 0 ? `${store.location} is up to date.\n` : `${store.location} is already up to date.\n`,
  );
  return EXIT_OK;
}

/** `args` starts with the subcommand: `['create', '--name', 'ci']`. Errors go to `err` (default: `out`). */
export async function runKeys(store: Store, out: Out, args: string[], err: Out = out): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'create':
      return createKey(store, out, err, rest);
    case 'list':
      return rest.length > 0 ? usage(err, `unexpected argument "${rest[0]}"`) : listKeys(store, out);
    case 'revoke':
      return rest.length === 1
        ? revokeKey(store, out, err, rest[0]!)
        : usage(err, 'revoke needs one id or prefix');
    default:
      return usage(err, command ? `unknown command "keys ${command}"` : 'missing command');
  }
}

async function createKey(store: Store, out: Out, err: Out, args: string[]): Promise<number> {
  const name = parseName(args);
  if (name === undefined) return usage(err, 'create needs --name <name>');
  const { key, record } = await store.createApiKey({ name });
  out.write(`Created API key ${record.id} (${record.name}):\n\n  ${key}\n\n`);
  out.write('Copy it now: it will not be shown again (only its hash is stored).\n');
  return EXIT_OK;
}

async function listKeys(store: Store, out: Out): Promise<number> {
  const keys = await store.listApiKeys();
  if (keys.length === 0) {
    out.write('No API keys. Create one with `airtable-mcp-kit keys create --name <name>`.\n');
    return EXIT_OK;
  }
  const header = ['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'];
  out.write(table(header, keys.map(keyRow)));
  return EXIT_OK;
}

async function revokeKey(store: Store, out: Out, err: Out, target: string): Promise<number> {
  let record: ApiKeyRecord | undefined;
  try {
    record = await store.revokeApiKey(target);
  } catch (error) {
    if (!(error instanceof AmbiguousKeyError)) throw error;
    err.write(`${error.message}\n`);
    return EXIT_NOT_FOUND;
  }
  if (!record) {
    err.write(`No API key matches "${target}" (give an id such as key_… or a prefix such as pya_1a2b3c).\n`);
    return EXIT_NOT_FOUND;
  }
  out.write(`Revoked ${record.id} (${record.name}) at ${record.revokedAt}.\n`);
  return EXIT_OK;
}

/** `--name N` or `--name=N`; undefined when missing, empty or mixed with anything else. */
function parseName(args: string[]): string | undefined {
  const [first, second, ...extra] = args;
  if (first?.startsWith('--name=') && second === undefined)
    return first.slice('--name='.length).trim() || undefined;
  if (first === '--name' && second !== undefined && extra.length === 0) return second.trim() || undefined;
  return undefined;
}

function usage(err: Out, problem: string): number {
  err.write(`${problem}\n${KEYS_USAGE}\n`);
  return EXIT_USAGE;
}

function keyRow(key: ApiKeyRecord): string[] {
  return [key.id, key.name, key.prefix, key.createdAt, key.lastUsedAt ?? '-', key.revokedAt ?? '-'];
}

/** Left-aligned columns separated by two spaces, one line per row. */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n') + '\n';
}
