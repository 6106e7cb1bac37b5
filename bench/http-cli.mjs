// Shared by the benchmarks and the conformance run: the built CLI serving
// HTTP against its in-process sandbox, on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Resolves once the server listens; `stop()` sends SIGTERM. Nothing is throttled or stored on disk. */
export async function spawnHttpCli(extraArgs = [], env = {}) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      'dist/cli.js',
      '--transport',
      'http',
      '--port',
      String(port),
      '--sandbox',
      '--no-rate-limit',
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RATE_LIMIT_RPM: '0', DATA_DIR: ':memory:', ...env },
    },
  );
  await new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('MCP over HTTP')) resolve();
    });
    child.once('exit', () => reject(new Error(`server exited:\n${stderr}`)));
  });
  return { url: `http://127.0.0.1:${port}`, port, child, stop: () => child.kill('SIGTERM') };
}
