/**
 * The built CLI as a child process, for tests that check what a person
 * sees: exit code, stdout and stderr. It never blocks this process, so
 * servers the test runs (the fake Gemini server, a platform) keep answering.
 */
import { spawn } from 'node:child_process';

const CLI = 'dist/cli.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** process.env without the variables whose names match `names` (so the developer's settings stay out). */
export function envWithout(names: RegExp): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !names.test(key)));
}

/** Runs `node dist/cli.js …args` with `baseEnv` plus `env`, writes `stdin` and waits for it to exit (killed after 30 s). */
export function runCli(
  args: string[],
  baseEnv: Record<string, string | undefined>,
  env: Record<string, string> = {},
  stdin = '',
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...baseEnv, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}
