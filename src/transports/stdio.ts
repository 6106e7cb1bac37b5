/**
 * stdio transport: what Claude Desktop, Claude Code, Cursor and VS Code
 * launch. stdout carries only JSON-RPC; everything else goes to stderr.
 *
 * A client waits for the `initialize` reply before anything else, and that
 * reply needs only the server's name and capabilities. So the server is
 * connected first, from this light file (the SDK and the tool server only),
 * and the app (tools, Airtable client, logger, modules, a --sandbox) is
 * loaded and built right after; tools/list and tools/call wait for it.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App } from '../app/root.js';
import type { Config } from '../config.js';
import { createToolServer } from '../tool-server.js';

/** Anything a dependency prints with console.log must not corrupt the JSON-RPC stream. */
function redirectConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

/** Resolves when the server is built and connected; rejects (the CLI exits) when building fails. */
export async function runStdio(config: Config): Promise<void> {
  redirectConsoleToStderr();
  let startBuilding!: () => void;
  const building = new Promise<void>((resolve) => {
    startBuilding = resolve;
  }).then(() => buildStdioApp(config));
  const runtime = building.then((app) => app.tools);
  runtime.catch(() => {}); // a failed build is reported once, by the CLI (through `await building` below)
  const server = createToolServer({ runtime });
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    // A build that fails (a bad token, a module that cannot run) is reported by the CLI with its exit code.
    const built = await building.catch(() => undefined);
    if (!built) return;
    built.logger.debug({ reason }, 'shutting down');
    await server.close().catch(() => {});
    await built.close().catch(() => {});
    process.exit(0);
  };
  // The SDK's stdio transport ignores end-of-input, so without this an
  // abandoned server would linger after its client exits.
  process.stdin.once('end', () => void shutdown('stdin closed'));
  process.stdin.once('close', () => void shutdown('stdin closed'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await server.connect(new StdioServerTransport());
  // One turn of the event loop first: an `initialize` already waiting on stdin is read and answered
  // in it, before loading the app's code keeps the thread busy.
  await new Promise((resolve) => setImmediate(resolve));
  startBuilding();
  const app = await building;
  app.logger.info(
    {
      sandbox: app.target.sandbox?.url,
      defaultBase: app.target.defaultBase,
      modules: [...app.modules.keys()],
    },
    'airtable-mcp-kit ready on stdio',
  );
}

async function buildStdioApp(config: Config): Promise<App> {
  const [{ buildApp }, { createLogger }] = await Promise.all([
    import('../app/root.js'),
    import('../logger.js'),
  ]);
  return buildApp(config, 'stdio', { logger: createLogger(config.logLevel) });
}
