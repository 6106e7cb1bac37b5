import { defineConfig, type Options } from 'tsup';

// Two builds into dist/:
// - the library (dist/index.js, with declarations): dependencies stay external, so an embedder's
//   own @modelcontextprotocol/sdk and zod are the ones it runs with;
// - the CLI (dist/cli.js): what a stdio start needs (the MCP SDK with ajv, zod, pino) is bundled
//   in, so Node reads a handful of files instead of ~250 small ones (measured by `node bench/run.mjs
//   compare`). Everything else stays external: native addons (better-sqlite3, @node-rs/argon2),
//   packages that find files by path (swagger-ui-dist) and the HTTP/store/Redis/module dependencies,
//   which only the lazily imported chunks (`await import(...)` in src) load.
const common: Options = {
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  sourcemap: true,
  splitting: true,
  treeshake: true,
  shims: false,
};

// The bin needs a hashbang (harmless in the chunks). Bundled CommonJS packages (ajv, pino) call
// require() for Node's built-ins; ESM has none, so give them one.
const CLI_BANNER = [
  '#!/usr/bin/env node',
  "import { createRequire as __createRequire } from 'node:module';",
  'const require = __createRequire(import.meta.url);',
].join('\n');

// The library and each module's own entry (`airtable-mcp-kit/orchestrator`, …), as package.json exports them.
const LIBRARY_ENTRIES = {
  index: 'src/index.ts',
  orchestrator: 'src/orchestrator/index.ts',
};

export default defineConfig([
  {
    ...common,
    entry: LIBRARY_ENTRIES,
    // Only this build cleans dist/; the CLI build below writes its files after its (longer) bundling.
    clean: true,
    // Declarations are slow to build; the test run's rebuild (test/global-setup.ts) skips them.
    dts: process.env.TSUP_SKIP_DTS ? false : { entry: LIBRARY_ENTRIES },
  },
  {
    ...common,
    entry: { cli: 'src/cli.ts' },
    clean: false,
    dts: false,
    // esbuild already drops unused code; rollup's extra pass would drop the banner's `require`.
    treeshake: false,
    noExternal: ['@modelcontextprotocol/sdk', 'zod', 'pino'],
    banner: { js: CLI_BANNER },
    esbuildOptions(options) {
      // Its own chunk names, so the two builds never write the same file.
      options.chunkNames = 'cli-[name]-[hash]';
    },
  },
]);
