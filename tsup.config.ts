import { defineConfig } from 'tsup';

// Two entries: the library (with declarations) and the CLI (with a shebang).
// Heavy optional modules are imported dynamically inside src, so they become
// separate chunks and `npx airtable-mcp-kit` only loads what it runs.
export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // Declarations are slow to build; the test run's rebuild (test/global-setup.ts) skips them.
  dts: process.env.TSUP_SKIP_DTS ? false : { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  shims: false,
});
