/**
 * `airtable-mcp-kit users …`: manage accounts from the server's shell, for
 * the first admin and for when nobody can sign in. Passwords come from
 * stdin (the first line) or a prompt that does not echo, never from a flag
 * (flags end up in shell history and process listings).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BASE_ID_PATTERN } from '../airtable/ids.js';
import { HttpProblem } from '../app/api.js';
import type { ModuleCommandContext } from '../app/module.js';
import type { Accounts } from './accounts.js';
import type { PlatformApi } from './service.js';
import { type Bases, publicUser } from './users.js';

const USAGE = `usage: airtable-mcp-kit users <command>
  create --email E [--admin] [--first-name F] [--last-name L]   (password: first line of stdin, or prompted)
  list
  disable ID|EMAIL
  enable ID|EMAIL
  set-bases ID|EMAIL '*'|appXXX,appYYY
  reset-password ID|EMAIL                                        (password: first line of stdin, or prompted)
`;

class UsageError extends Error {}

export async function runUsersCommand(ctx: ModuleCommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...ctx.args],
    options: {
      email: { type: 'string' },
      admin: { type: 'boolean' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      password: { type: 'string' },
    },
    strict: false,
    allowPositionals: true,
  });
  const [action, target, extra] = positionals;
  try {
    if (values.password !== undefined) {
      throw new UsageError(
        'passwords are never taken as flags (they end up in shell history); pipe it on stdin',
      );
    }
    if (!action || !ACTIONS.includes(action as Action))
      throw new UsageError(action ? `unknown users command "${action}"` : 'name a users command');
    if (action !== 'create' && action !== 'list' && !target)
      throw new UsageError(`users ${action} needs a user id or email`);
    if (action === 'set-bases' && !extra)
      throw new UsageError("users set-bases needs the bases: '*' or appXXX,appYYY");
    if (action === 'create' && typeof values.email !== 'string')
      throw new UsageError('users create needs --email');
    const bases = action === 'set-bases' ? parseBasesArg(extra!) : undefined;
    const password = action === 'create' || action === 'reset-password' ? await readPassword(ctx) : undefined;

    const app = await ctx.app();
    const platform = app.modules.get('platform')?.api as PlatformApi | undefined;
    if (!platform) {
      ctx.stderr.write('the platform module is not running\n');
      return 1;
    }
    const { accounts } = platform;
    switch (action as Action) {
      case 'create': {
        const user = await accounts.createUser({
          email: values.email as string,
          password: password!,
          first_name: str(values['first-name']),
          last_name: str(values['last-name']),
          role: values.admin ? 'admin' : 'member',
        });
        await platform.audit.record('user_created', user.id, undefined, { role: user.role, via: 'cli' });
        return print(ctx, publicUser(user));
      }
      case 'list':
        return print(ctx, (await accounts.repo.listUsers()).map(publicUser));
      case 'disable':
      case 'enable':
        return print(
          ctx,
          await accounts.adminUpdate(await idOf(accounts, target!), { disabled: action === 'disable' }),
        );
      case 'set-bases':
        return print(
          ctx,
          await accounts.adminUpdate(await idOf(accounts, target!), { allowed_bases: bases }),
        );
      case 'reset-password': {
        const id = await idOf(accounts, target!);
        await accounts.setPassword(id, password!);
        ctx.stdout.write(`password of ${target} reset; every sign-in of that account has ended\n`);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.stderr.write(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof HttpProblem) {
      const fields = error.extra.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
      ctx.stderr.write(
        `${error.detail ?? error.title}${fields && !error.detail?.includes(fields) ? ` (${fields})` : ''}\n`,
      );
      return 1;
    }
    throw error;
  }
}

const ACTIONS = ['create', 'list', 'disable', 'enable', 'set-bases', 'reset-password'] as const;
type Action = (typeof ACTIONS)[number];

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function print(ctx: ModuleCommandContext, value: unknown): number {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

async function idOf(accounts: Accounts, idOrEmail: string): Promise<string> {
  const user = await accounts.findUser(idOrEmail);
  if (!user) throw new HttpProblem(404, 'Not Found', `no user ${idOrEmail}`);
  return user.id;
}

function parseBasesArg(value: string): Bases {
  if (value.trim() === '*') return '*';
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.find((id) => !BASE_ID_PATTERN.test(id));
  if (bad || ids.length === 0)
    throw new UsageError(`"${bad ?? value}" is not a base id like appXXXXXXXXXXXXXX`);
  return ids;
}

/** The first line of stdin; on a terminal, a prompt that does not echo. */
async function readPassword(ctx: ModuleCommandContext): Promise<string> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const line =
    stdin.isTTY && typeof stdin.setRawMode === 'function'
      ? await promptHidden(stdin, ctx.stderr)
      : await firstLine(stdin);
  if (!line)
    throw new UsageError('no password given: type it at the prompt or pipe it on stdin (first line)');
  return line;
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (text) => {
      answered = true;
      rl.close();
      resolve(text);
    });
    rl.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/** Reads keys in raw mode so nothing is echoed; Enter ends, Backspace deletes, Ctrl-C gives up. */
function promptHidden(stdin: NodeJS.ReadStream, out: NodeJS.WritableStream): Promise<string | undefined> {
  out.write('Password: ');
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let typed = '';
    const done = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(typed);
        if (char === '\u0003' || char === '\u0004') return done(undefined);
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
