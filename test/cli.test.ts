/**
 * The built CLI as a process: exit codes, stdout purity, shutdown.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };

const CLI = 'dist/cli.js';
const CLEAN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(AIRTABLE_|SANDBOX_|MCP_|LOG_LEVEL)/.test(key)),
);

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: { ...CLEAN_ENV, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

function startServer(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { env: CLEAN_ENV, stdio: 'pipe' });
}

/** Send JSON-RPC lines and collect stdout lines until `count` responses arrived. */
async function exchange(
  child: ChildProcessWithoutNullStreams,
  messages: object[],
  count: number,
): Promise<string[]> {
  const lines: string[] = [];
  let buffer = '';
  const done = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.trim()));
      if (lines.filter((l) => l.includes('"id"')).length >= count) resolve();
    });
    child.once('exit', () => reject(new Error(`server exited early; stdout: ${lines.join('\n')}`)));
  });
  for (const message of messages) child.stdin.write(`${JSON.stringify(message)}\n`);
  await done;
  return lines;
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cli-test', version: '1' } },
};
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

describe('airtable-mcp-kit CLI', () => {
  it('prints its version and help', () => {
    expect(run(['--version']).stdout.trim()).toBe(pkg.version);
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--sandbox');
    expect(help.stdout).toContain('AIRTABLE_TOKEN');
  });

  it('without a token and without --sandbox exits 2 with one clear line on stderr', () => {
    const result = run([]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/AIRTABLE_TOKEN.*--sandbox/);
  });

  it('rejects unknown flags, commands and invalid values with exit code 2', () => {
    expect(run(['--bogus']).status).toBe(2);
    expect(run(['frobnicate', '--sandbox']).status).toBe(2);
    const badToolset = run(['--sandbox', '--toolsets', 'records,nope']);
    expect(badToolset.status).toBe(2);
    expect(badToolset.stderr).toContain('unknown toolset "nope"');
    const badBase = run([], { AIRTABLE_TOKEN: 'patX.y', AIRTABLE_BASE: 'app/../meta' });
    expect(badBase.status).toBe(2);
    expect(badBase.stderr).toContain('base id');
  });

  it('runs the standalone sandbox, with a control token when asked', async () => {
    const child = spawn(process.execPath, [CLI, 'sandbox', '--port', '0', '--control-token', 'ctl'], {
      env: CLEAN_ENV,
      stdio: 'pipe',
    });
    try {
      const url = await new Promise<string>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /listening on (http:\/\/\S+)/.exec(chunk.toString());
          if (match?.[1]) resolve(match[1]);
        });
      });
      expect((await fetch(`${url}/_sandbox/stats`)).status).toBe(401);
      expect(
        (await fetch(`${url}/_sandbox/stats`, { headers: { Authorization: 'Bearer ctl' } })).status,
      ).toBe(200);
      const bases = await fetch(`${url}/v0/meta/bases`, {
        headers: { Authorization: 'Bearer patSandbox.localdevtoken' },
      });
      expect(bases.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('manages API keys and migrations in the store', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amk-cli-'));
    const env = { DATA_DIR: dataDir };
    const status = run(['migrate', '--status'], env);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/001/);
    const created = run(['keys', 'create', '--name', 'ci'], env);
    expect(created.status).toBe(0);
    const key = /pya_[0-9a-f]{64}/.exec(created.stdout)?.[0];
    expect(key).toBeDefined();
    const listed = run(['keys', 'list'], env);
    expect(listed.stdout).toContain('ci');
    expect(listed.stdout).not.toContain(key!);
    expect(run(['keys', 'revoke', key!.slice(0, 10)], env).status).toBe(0);
    expect(run(['keys', 'revoke', 'pya_000000'], env).status).toBe(1);
    expect(run(['keys', 'frobnicate'], env).status).toBe(2);
    expect(run(['keys', 'generate']).stdout.trim()).toMatch(/^pya_[0-9a-f]{64}$/);
  });

  it('writes only JSON-RPC to stdout and exits 0 when stdin closes', async () => {
    const child = startServer(['--sandbox', '--log-level', 'debug']);
    const lines = await exchange(
      child,
      [INITIALIZE, INITIALIZED, { jsonrpc: '2.0', id: 2, method: 'tools/list' }],
      2,
    );
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const exited = once(child, 'exit');
    child.stdin.end();
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it('exits 0 on SIGTERM', async () => {
    const child = startServer(['--sandbox']);
    await exchange(child, [INITIALIZE], 1);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
