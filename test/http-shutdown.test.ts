/**
 * Graceful shutdown of the built CLI in HTTP mode: SIGTERM while a tool call
 * is in flight lets the call finish, then the process exits 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';

const KEY = `pya_${'c3'.repeat(32)}`;

describe('HTTP shutdown', () => {
  it('finishes an in-flight call on SIGTERM and exits 0', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['dist/cli.js', '--transport', 'http', '--port', String(port), '--sandbox', '--no-rate-limit'],
      {
        env: { ...process.env, API_KEY: KEY, LOG_LEVEL: 'info', DATA_DIR: ':memory:' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const sandboxUrl = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /"sandbox":"(http:\/\/[^"]+)"/.exec(stderr);
        if (match?.[1] && stderr.includes('MCP over HTTP')) resolve(match[1]);
      });
      child.once('exit', () => reject(new Error(`server exited early:\n${stderr}`)));
    });
    // Make every Airtable request take 1.5 s, so the call is still running when SIGTERM arrives.
    await fetch(`${sandboxUrl}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ latencyMs: 1500 }),
    });

    const client = new Client({ name: 'shutdown-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { 'X-API-Key': KEY } },
      }),
    );
    const exited = once(child, 'exit');
    const call = client.callTool({
      name: 'get_record',
      arguments: { table_id: 'Tasks', record_id: 'recAAAAAAAAAAAAAA' },
    });
    setTimeout(() => child.kill('SIGTERM'), 300);
    const result = (await call) as CallToolResult;
    // The call completed with a real answer from the sandbox (the record does not exist), not a dropped connection.
    expect(result.content[0]?.type).toBe('text');
    expect(JSON.stringify(result.content)).toMatch(/not found|does not exist|MODEL_ID_NOT_FOUND/i);
    const [code] = await exited;
    expect(code).toBe(0);
    await client.close().catch(() => {});
  });
});
