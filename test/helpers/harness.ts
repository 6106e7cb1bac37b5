/**
 * An MCP client connected in-process to a real server, whose Airtable client
 * talks over real HTTP to a real sandbox. For per-tool behaviour tests; the
 * contract tests spawn the built CLI instead.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AirtableClient, type AirtableClientOptions, createMemoryLimiter } from '../../src/airtable/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { SandboxHandle, SandboxOptions } from '../../src/sandbox/options.js';
import { type CreateServerOptions, createServer } from '../../src/server.js';

export const DEMO_BASE = 'appSandboxDemo001';
export const ARCHIVE_BASE = 'appSandboxArchive';

export interface Harness {
  client: Client;
  sandbox: SandboxHandle;
  airtable: AirtableClient;
  /** Call a tool; returns the raw result (check isError yourself). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Call a tool that must succeed; returns its structuredContent. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Call a tool that must fail; returns its error text. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  sandbox?: SandboxOptions;
  server?: Omit<CreateServerOptions, 'client' | 'token' | 'baseUrl'>;
  client?: Partial<AirtableClientOptions>;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startSandbox({ rateLimit: false, ...options.sandbox });
  // With the sandbox's limits off (the default here), the client's own 5 req/s throttle would only slow tests
  // down; tests that turn the sandbox's limits on get the client's real limiter.
  const limiter = options.sandbox?.rateLimit
    ? undefined
    : createMemoryLimiter({
        perBase: { limit: 1000, windowMs: 1000 },
        perToken: { limit: 1000, windowMs: 1000 },
      });
  const airtable = new AirtableClient({
    token: sandbox.token,
    baseUrl: sandbox.url,
    limiter,
    ...options.client,
  });
  const server = createServer({
    client: airtable,
    defaultBase: DEMO_BASE,
    toolsets: ['records', 'schema', 'analysis', 'bulk', 'schema_edit', 'comments'],
    ...options.server,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  return {
    client,
    sandbox,
    airtable,
    call,
    async ok(name, args) {
      const result = await call(name, args);
      if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
      return result.structuredContent as never;
    },
    async fails(name, args) {
      const result = await call(name, args);
      if (!result.isError)
        throw new Error(`${name} was expected to fail but returned: ${textOf(result).slice(0, 500)}`);
      return textOf(result);
    },
    async close() {
      await client.close();
      await server.close();
      await sandbox.stop();
    },
  };
}
