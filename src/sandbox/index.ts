/**
 * An in-process, Airtable-compatible HTTP server for tests and demos: point the official `airtable`
 * client (`endpointUrl`) or plain fetch at `handle.url` with `handle.token`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxHandle, SandboxOptions } from './options.js';
import { SandboxServer } from './server.js';

export type {
  FaultStep,
  SandboxBaseStats,
  SandboxFaultOptions,
  SandboxHandle,
  SandboxOptions,
  SandboxRateLimitOptions,
  SandboxStats,
} from './options.js';
export { DEFAULT_TOKEN } from './server.js';

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const sandbox = new SandboxServer(options);
  const server = createServer(sandbox.listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    sandbox.store.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  sandbox.baseUrl = urlFor(host, port);
  let stopped: Promise<void> | undefined;
  return {
    url: sandbox.baseUrl,
    token: sandbox.token,
    port,
    baseIds: sandbox.store.listBases().map((b) => b.id),
    stats: () => sandbox.stats(),
    reset: () => sandbox.reset(),
    setFaults: (faults) => sandbox.setFaults(faults),
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => {
          sandbox.store.close();
          resolve();
        });
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
