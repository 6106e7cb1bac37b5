/**
 * `airtable-mcp-kit users …` as a process (the built CLI), on SQLite and
 * on the real PostgreSQL, against the same data a running server uses:
 * the first admin is created with the password on stdin (never a flag),
 * then list, set-bases, disable/enable and reset-password, each checked
 * through the server's HTTP API. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../src/app/modules.js';
import { type CliResult, envWithout, runCli } from './helpers/cli-process.js';
import {
  DEMO_BASE,
  email,
  expectProblem,
  type Json,
  type PlatformServer,
  startPlatform,
} from './helpers/platform-http.js';
import { testDatabases } from './helpers/postgres.js';

const ADMIN_PASSWORD = 'granite pelican over the harbour';
/** Nothing from the developer's environment reaches the CLI. */
const CLEAN_ENV = envWithout(
  /^(AIRTABLE_|SANDBOX_|MCP_|LOG_LEVEL|GEMINI_|GOOGLE_|MODULES|DATA_DIR|DATABASE_URL|REDIS_URL|API_KEY|REGISTRATION|JWT_)/,
);

function run(args: string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  return runCli(args, CLEAN_ENV, env, stdin);
}

/** stderr without the JSON log lines the app writes while it starts (what a person reads). */
function message(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() && !line.startsWith('{"level"'));
}

const databases = testDatabases();
afterAll(() => databases.dropAll());

describe.each([
  ['sqlite', async (): Promise<Record<string, string>> => ({})],
  [
    'postgres',
    async (): Promise<Record<string, string>> => ({ DATABASE_URL: await databases.create('amk_users_cli') }),
  ],
] as const)('users command (%s)', (_dialect, storeEnv) => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: PlatformServer;
  const adminEmail = email('root');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'amk-users-cli-'));
    // The server's own store settings; no Airtable token or sandbox: `users` never calls Airtable.
    env = {
      DATA_DIR: dataDir,
      ...(await storeEnv()),
    };
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the first admin with the password on stdin; it signs in over HTTP', async () => {
    const created = await run(
      ['users', 'create', '--email', adminEmail.toUpperCase(), '--admin', '--first-name', 'Root'],
      env,
      `${ADMIN_PASSWORD}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({
      email: adminEmail,
      role: 'admin',
      first_name: 'Root',
      allowed_bases: '*',
      disabled: false,
    });
    expect(created.stdout + created.stderr).not.toContain(ADMIN_PASSWORD);

    // Every module the CLI knows, so both apply the same migrations; only the platform runs.
    server = await startPlatform(
      { ...env, REGISTRATION: 'closed', MODULES: 'platform' },
      MODULES.filter((m) => m.name !== 'platform'),
    );
    const signIn = await server.call('POST', '/api/auth/login', undefined, {
      email: adminEmail,
      password: ADMIN_PASSWORD,
    });
    expect(signIn.status, signIn.text).toBe(200);
    expect(signIn.body.user).toMatchObject({ id: user.id, role: 'admin' });
    // An admin: may list users.
    expect((await server.call('GET', '/api/users', signIn.body.access_token)).status).toBe(200);
  });

  it('refuses a password given as a flag, a missing email or password, an unknown command (exit 2)', async () => {
    const flag = await run(
      ['users', 'create', '--email', email('flag'), '--password', 'a long enough one'],
      env,
    );
    expect(flag.code).toBe(2);
    expect(flag.stderr).not.toContain('a long enough one');
    expect(message(flag)[0]).toMatch(/never taken as flags/);
    expect((await run(['users', 'create'], env, `${ADMIN_PASSWORD}\n`)).code).toBe(2);
    const noPassword = await run(['users', 'create', '--email', email('nopw')], env, '');
    expect(noPassword.code).toBe(2);
    expect(message(noPassword)[0]).toMatch(/no password/);
    expect((await run(['users', 'frobnicate'], env)).code).toBe(2);
    expect((await run(['users', 'set-bases', adminEmail, 'not-a-base'], env)).code).toBe(2);
    expect((await run(['users', 'disable'], env)).code).toBe(2);
  });

  it('fails with one line and exit 1 for a weak password, a taken email, an unknown user, the last admin', async () => {
    const weak = await run(['users', 'create', '--email', email('weak')], env, 'password123\n');
    expect(weak.code).toBe(1);
    expect(message(weak)).toHaveLength(1);
    expect(message(weak)[0]).toMatch(/password/);
    const taken = await run(['users', 'create', '--email', adminEmail], env, `${ADMIN_PASSWORD}\n`);
    expect(taken.code).toBe(1);
    expect(message(taken)).toHaveLength(1);
    expect(message(taken)[0]).toMatch(/already registered/);
    const unknown = await run(['users', 'disable', email('nobody')], env);
    expect(unknown.code).toBe(1);
    expect(message(unknown)).toHaveLength(1);
    const lastAdmin = await run(['users', 'disable', adminEmail], env);
    expect(lastAdmin.code).toBe(1);
    expect(message(lastAdmin)[0]).toMatch(/last active admin/);
    const signIn = await server.call('POST', '/api/auth/login', undefined, {
      email: adminEmail,
      password: ADMIN_PASSWORD,
    });
    expect(signIn.status).toBe(200);
  });

  it('lists users, sets bases, disables and enables by email or id, seen by the running server', async () => {
    const memberEmail = email('member');
    const made = await run(
      ['users', 'create', '--email', memberEmail],
      env,
      'copper lantern in the rain\nignored second line\n',
    );
    expect(made.code, made.stderr).toBe(0);
    const member = JSON.parse(made.stdout);
    expect(member).toMatchObject({ role: 'member', allowed_bases: '*' });

    const listed = await run(['users', 'list'], env);
    expect(listed.code).toBe(0);
    const users = JSON.parse(listed.stdout) as Json[];
    expect(users.map((u) => u.email).sort()).toEqual([adminEmail, memberEmail].sort());
    expect(listed.stdout).not.toMatch(/argon2|password_hash/);

    const bases = await run(['users', 'set-bases', memberEmail, `${DEMO_BASE}, appSandboxArchive`], env);
    expect(bases.code, bases.stderr).toBe(0);
    expect(JSON.parse(bases.stdout).allowed_bases).toEqual([DEMO_BASE, 'appSandboxArchive']);
    const login = () =>
      server.call('POST', '/api/auth/login', undefined, {
        email: memberEmail,
        password: 'copper lantern in the rain',
      });
    const signIn = await login();
    expect(signIn.status, signIn.text).toBe(200);
    expect(signIn.body.user.allowed_bases).toEqual([DEMO_BASE, 'appSandboxArchive']);
    expect((await run(['users', 'set-bases', member.id, DEMO_BASE], env)).code).toBe(0);
    const profile = await server.call('GET', '/api/auth/profile', signIn.body.access_token);
    expect(profile.body.allowed_bases).toEqual([DEMO_BASE]);

    const disabled = await run(['users', 'disable', member.id], env);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ disabled: true });
    expectProblem(await login(), 403);
    // Disabling ended the sign-in made before.
    expect([401, 403]).toContain(
      (await server.call('GET', '/api/auth/verify', signIn.body.access_token)).status,
    );
    expect((await run(['users', 'enable', memberEmail], env)).code).toBe(0);
    expect((await login()).status).toBe(200);
    expect((await run(['users', 'set-bases', memberEmail, '*'], env)).code).toBe(0);
    expect((await login()).body.user.allowed_bases).toBe('*');
  });

  it('reset-password takes the new one from stdin and ends every sign-in', async () => {
    const before = await server.call('POST', '/api/auth/login', undefined, {
      email: adminEmail,
      password: ADMIN_PASSWORD,
    });
    const reset = await run(['users', 'reset-password', adminEmail], env, 'saffron glacier at midnight\n');
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout + reset.stderr).not.toContain('saffron glacier');
    expectProblem(await server.call('GET', '/api/auth/verify', before.body.access_token), 401);
    expectProblem(
      await server.call('POST', '/api/auth/login', undefined, {
        email: adminEmail,
        password: ADMIN_PASSWORD,
      }),
      401,
    );
    const after = await server.call('POST', '/api/auth/login', undefined, {
      email: adminEmail,
      password: 'saffron glacier at midnight',
    });
    expect(after.status).toBe(200);
  });
});
