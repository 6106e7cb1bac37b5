import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/**
 * The built CLI spawned over stdio and connected with the SDK's Client, as an
 * MCP host would. AIRTABLE_* variables of this process are left out, so only
 * `args` and `env` configure it.
 */
export async function connectCli(args: string[], env: Record<string, string> = {}): Promise<Client> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('AIRTABLE_'),
    ),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['dist/cli.js', '--log-level', 'warn', ...args],
    env: { ...inherited, ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'cli-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
