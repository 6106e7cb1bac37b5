/**
 * The web console: the browser front end (console/, built by Vite into
 * dist/console/) served at the hosted server's root. It talks to the public
 * /api only. This file stays light: the file server loads in `create`.
 */
import { z } from 'zod';
import { defineModule } from '../app/module.js';
import { defineSection, option, readSection } from '../app/options.js';

export const consoleSection = defineSection('console', 'Web console', {
  dir: option({
    schema: z.string().default(''),
    env: 'CONSOLE_DIR',
    flag: 'console-dir',
    arg: '<dir>',
    help: 'Folder of the built web console (default: dist/console inside the package)',
    more: true,
  }),
});

export default defineModule({
  name: 'console',
  summary: 'The web console (sign-in, chat, usage, keys, workflows, admin, privacy) at the server root',
  options: consoleSection.options,
  unmet(_config, mode) {
    return mode === 'http'
      ? undefined
      : 'the web console is served by the hosted server only (--transport http)';
  },
  async create(ctx) {
    const { loadConsoleAssets, consoleHandler, defaultConsoleDir } = await import('./static.js');
    const { dir } = readSection(ctx.config, consoleSection);
    const assets = await loadConsoleAssets(dir || defaultConsoleDir());
    if (!assets) {
      ctx.logger.warn(
        { dir: dir || defaultConsoleDir() },
        'web console not built (npm run build:console); not served',
      );
    }
    return {
      routes(api) {
        if (assets) api.mount('/', consoleHandler(assets));
      },
    };
  },
});
