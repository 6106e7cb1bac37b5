/**
 * Modules through the built CLI, as a process: `--help` is generated from
 * every declaration (core and module options, module commands), `--modules`
 * is a flag with a clear error, and module commands (`chat`, `saga-run`)
 * run with their app built, closed and their exit code kept. `chat` talks
 * to the fake Gemini server over HTTP and to the in-process sandbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MODULES } from '../src/app/modules.js';
import { envNames } from '../src/app/options.js';
import { CORE_SECTIONS } from '../src/config.js';
import { SQLITE_FILE_NAME } from '../src/store/index.js';
import { type CliResult, envWithout, runCli } from './helpers/cli-process.js';
import { callTools, type FakeGemini, say, startFakeGemini } from './helpers/fake-gemini.js';

const KEY = 'cli-modules-key';
/** Nothing from the developer's environment reaches the CLI (no real key, no MODULES). */
const CLEAN_ENV = envWithout(
  /^(AIRTABLE_|SANDBOX_|MCP_|LOG_LEVEL|GEMINI_|GOOGLE_|MODULES|DATA_DIR|DATABASE_URL|REDIS_URL)/,
);

/** Runs the CLI without blocking this process (the fake Gemini server lives here). */
function run(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  return runCli(args, CLEAN_ENV, env, input);
}

let gemini: FakeGemini;
let dataDir: string;

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
});

afterAll(async () => {
  await gemini?.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
  dataDir = mkdtempSync(join(tmpdir(), 'amk-cli-modules-'));
  return () => rmSync(dataDir, { recursive: true, force: true });
});

describe('--help', () => {
  it('lists every declared option, core and module, and every module command', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const sections = [
      ...Object.values(CORE_SECTIONS).map((s) => s.options),
      ...MODULES.flatMap((m) => (m.options ? [m.options] : [])),
    ];
    for (const options of sections) {
      for (const spec of Object.values(options)) {
        // A flag is shown unless the option is one of the "more" ones, which are named by their env var.
        if (spec.flag && !spec.more)
          expect(stdout).toContain(`${spec.flag}${spec.arg ? ` ${spec.arg}` : ''}`);
        const env = envNames(spec)[0];
        if (env) expect(stdout).toContain(env);
      }
    }
    for (const module of MODULES) {
      expect(stdout).toContain(`  ${module.name} `);
      for (const command of Object.values(module.commands ?? {})) {
        expect(stdout).toContain(`airtable-mcp-kit ${command.usage}`);
        expect(stdout).toContain(command.summary);
      }
    }
    // Spot checks of what the generation must produce.
    expect(stdout).toContain('airtable-mcp-kit chat [--sandbox]');
    expect(stdout).toMatch(/-m, --message <text> +chat: answer this one message and exit/);
    expect(stdout).toMatch(/--model <id> +Gemini model, default gemini-3\.8-flash \[GEMINI_MODEL\]/);
    expect(stdout).toMatch(/--modules <a,b\|all\|none> +Modules to run/);
    expect(stdout).toMatch(/--\[no-\]rate-limit +.*\[SANDBOX_RATE_LIMIT\]/);
  });

  it('a module command has its own usage', async () => {
    const { code, stdout } = await run(['chat', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: airtable-mcp-kit chat \[--sandbox\]/);
  });
});

describe('--modules', () => {
  it('an unknown module is one clear line and exit 2, for the server and for a command', async () => {
    for (const args of [
      ['--sandbox', '--modules', 'nope'],
      ['saga-run', 'run_x', '--modules', 'orchestrator,nope'],
    ]) {
      const { code, stdout, stderr } = await run(args, { DATA_DIR: dataDir });
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([
        `airtable-mcp-kit: Invalid configuration: modules: unknown module "nope"; choose from ${MODULES.map((m) => m.name).join(', ')}, all or none`,
      ]);
    }
  });

  it('a module that cannot run in this mode is refused with its reason', async () => {
    const { code, stderr } = await run(['--sandbox', '--modules', 'console'], { DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stderr).toContain(
      'module "console" cannot run: the web console is served by the hosted server only',
    );
  });

  it('a flag of a module command is refused by the server', async () => {
    const { code, stderr } = await run(['--sandbox', '-m', 'hi']);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'airtable-mcp-kit: --message is not an option of "serve" (it is one of "chat")',
    );
  });
});

describe('chat (orchestrator module command)', () => {
  const env = () => ({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    GEMINI_API_KEY: KEY,
    GEMINI_BASE_URL: gemini.url,
    GEMINI_MAX_RETRIES: '0',
  });

  it('chat --sandbox -m answers with the tools on the sandbox, prints the answer and exits 0', async () => {
    gemini.enqueue(
      callTools({ name: 'list_tables', args: {}, id: 'c1', signature: 'sig-cli' }),
      say('The demo base has Projects, Tasks and People.'),
    );
    const result = await run(['chat', '--sandbox', '-m', 'What is in my base?'], env());
    expect(result.stderr).toMatch(/✓ list_tables \d+ ms/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('The demo base has Projects, Tasks and People.\n');
    expect(gemini.requests).toHaveLength(2);
    expect(gemini.requests[0]!.body.contents[0]!.parts[0]!.text).toBe('What is in my base?');
    // --sandbox reached the config: the demo base is the default the model is told about.
    expect(JSON.stringify(gemini.requests[0]!.body.systemInstruction)).toContain('appSandboxDemo001');
    // The app was closed before exit: the buffered usage records (the tool call, the chat turn) reached the store.
    const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
    try {
      const rows = db.prepare('SELECT kind, name FROM usage_records ORDER BY id').all();
      expect(rows).toEqual([
        { kind: 'tool', name: 'list_tables' },
        { kind: 'chat', name: 'gemini-3.8-flash' },
      ]);
    } finally {
      db.close();
    }
  });

  it('--model (declared for chat) reaches the turn; core flags around it are not taken for arguments', async () => {
    gemini.enqueue(say('ok'));
    const result = await run(
      ['chat', '--log-level', 'silent', '--model', 'gemini-3.5-flash-lite', '--sandbox', '--message=hi'],
      env(),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('ok\n');
    expect(gemini.requests[0]!.model).toBe('gemini-3.5-flash-lite');
  });

  it('the interactive chat reads the terminal (stdin) and ends at end of input', async () => {
    gemini.enqueue(say('Hello from the sandbox.'));
    const { code, stdout } = await run(['chat', '--sandbox'], env(), 'Hi\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Chat with gemini-3.8-flash (appSandboxDemo001).');
    expect(stdout).toContain('you> gemini> Hello from the sandbox.');
    expect(gemini.requests[0]!.body.contents[0]!.parts[0]!.text).toBe('Hi');
  });

  it("a command's bad arguments exit 2 with its usage", async () => {
    const missing = await run(['chat', '--sandbox', '--model'], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `airtable-mcp-kit: option --model needs a value; usage: airtable-mcp-kit ${MODULES.find((m) => m.name === 'orchestrator')!.commands!.chat!.usage}`,
    );
    const invalid = await run(['chat', '--sandbox', '--toolsets', 'nope', '-m', 'hi'], env());
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('unknown toolset "nope"');
    expect(gemini.requests).toHaveLength(0);
  });

  it('an error while building the app is one line without a stack trace', async () => {
    // No token and no --sandbox: the app cannot reach Airtable.
    const { code, stdout, stderr } = await run(['chat', '-m', 'hi'], env());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^airtable-mcp-kit: .*AIRTABLE_TOKEN.*--sandbox/);
    expect(gemini.requests).toHaveLength(0);
  });
});

describe('saga-run (saga module command)', () => {
  it('without an id it exits 2 with its usage, before building anything', async () => {
    const { code, stderr } = await run(['saga-run'], { DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stderr).toContain('usage: saga-run ID');
  });

  it("builds the saga module on the store, answers and keeps the command's exit code", async () => {
    // --data-dir's value is configuration, not the run id: the command sees only "run_missing".
    const { code, stdout, stderr } = await run(
      ['saga-run', '--data-dir', dataDir, 'run_missing', '--sandbox'],
      { LOG_LEVEL: 'silent' },
    );
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe('no run run_missing');
    expect(code).toBe(1);
  });
});
