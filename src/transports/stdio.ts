/**
 * stdio transport: what Claude Desktop, Claude Code, Cursor and VS Code
 * launch. stdout carries only JSON-RPC; everything else goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildApp } from '../app/root.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { createServer } from '../server.js';

/** Anything a dependency prints with console.log must not corrupt the JSON-RPC stream. */
function redirectConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

export async function runStdio(config: Config): Promise<void> {
  redirectConsoleToStderr();
  const logger = createLogger(config.logLevel);
  const app = await buildApp(config, 'stdio', { logger });
  const server = createServer({ runtime: app.tools });
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    logger.debug({ reason }, 'shutting down');
    await server.close().catch(() => {});
    await app.close().catch(() => {});
    process.exit(0);
  };
  // The SDK's stdio transport ignores end-of-input, so without this an
  // abandoned server would linger after its client exits.
  process.stdin.once('end', () => void shutdown('stdin closed'));
  process.stdin.once('close', () => void shutdown('stdin closed'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await server.connect(new StdioServerTransport());
  logger.info(
    {
      sandbox: app.target.sandbox?.url,
      defaultBase: app.target.defaultBase,
      modules: [...app.modules.keys()],
    },
    'airtable-mcp-kit ready on stdio',
  );
}
