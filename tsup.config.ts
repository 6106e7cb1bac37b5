import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

// Two builds into dist/:
// - the library (dist/index.js, with declarations): dependencies stay external, so an embedder's
//   own @modelcontextprotocol/sdk and zod are the ones it runs with;
// - the CLI (dist/cli.js): what a stdio start needs (the MCP SDK, zod, pino) is bundled in and
//   lightly minified, so Node reads and compiles a handful of files instead of ~250 small ones
//   (measured by `node bench/run.mjs compare`); what a start never runs is left out (zod's other
//   locales, and Ajv and zod 3, required only when used: see lazyInSdk). Everything else stays external: native addons (better-sqlite3, @node-rs/argon2),
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

/**
 * zod re-exports every error-message locale (`z.locales`, ~45 languages: a quarter of what a stdio
 * start compiles). Nothing here uses any but English, which zod sets itself, so the CLI bundle's
 * `z.locales` holds `en` only. The library build is unaffected (zod stays external there).
 */
const englishOnlyZodLocales: Plugin = {
  name: 'english-only-zod-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: args.path,
      loader: 'js',
    }));
  },
};

/**
 * Code a stdio start never runs, kept out of what it compiles: the CLI bundle requires these
 * packages (external, so not even parsed) where the SDK first uses them:
 * - Ajv with ajv-formats, which the SDK's Server builds when constructed for one use: checking a
 *   client's answer to an elicitation request, which this server never sends;
 * - zod 3 and zod-to-json-schema, for tools declared with zod 3 schemas (ours are zod 4).
 * They are direct dependencies (package.json) so `require` finds them from dist/. Behaviour is
 * the SDK's own; if one of its files changes shape, the build fails here instead of going wrong.
 */
const LAZY_IN_SDK: { file: RegExp; edits: [from: string | RegExp, to: string][] }[] = [
  {
    file: /[\\/]validation[\\/]ajv-provider\.js$/,
    edits: [
      [
        "import Ajv from 'ajv';\nimport _addFormats from 'ajv-formats';\n",
        "const Ajv = () => require('ajv').default;\nconst _addFormats = () => require('ajv-formats').default;\n",
      ],
      ['new Ajv({', 'new (Ajv())({'],
      ['const addFormats = _addFormats;', 'const addFormats = _addFormats();'],
      ['this._ajv = ajv ?? createDefaultAjvInstance();', 'this._given = ajv;'],
      [
        /\n(\s*)getValidator\(schema\) \{/,
        '\n$1get _ajv() {\n$1    return (this._given ??= createDefaultAjvInstance());\n$1}\n$1getValidator(schema) {',
      ],
    ],
  },
  {
    file: /[\\/]server[\\/]zod-compat\.js$/,
    edits: [
      [
        "import * as z3rt from 'zod/v3';",
        "const z3rt = { object: (shape) => require('zod/v3').object(shape) };",
      ],
    ],
  },
  {
    file: /[\\/]server[\\/]zod-json-schema-compat\.js$/,
    edits: [
      [
        "import { zodToJsonSchema } from 'zod-to-json-schema';",
        "const zodToJsonSchema = (...args) => require('zod-to-json-schema').zodToJsonSchema(...args);",
      ],
    ],
  },
];
const LAZY_PACKAGES = ['ajv', 'ajv-formats', 'zod/v3', 'zod-to-json-schema'];

const lazyInSdk: Plugin = {
  name: 'lazy-in-sdk',
  setup(build) {
    build.onLoad({ filter: /[\\/]@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/]/ }, async (args) => {
      const rule = LAZY_IN_SDK.find((r) => r.file.test(args.path));
      if (!rule) return undefined;
      let contents = await readFile(args.path, 'utf8');
      for (const [from, to] of rule.edits) {
        const next = contents.replace(from, to);
        if (next === contents)
          throw new Error(`lazy-in-sdk: ${args.path} no longer has ${from}; update tsup.config.ts`);
        contents = next;
      }
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

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
    entry: { cli: 'src/bin.ts' },
    clean: false,
    dts: false,
    // esbuild already drops unused code; rollup's extra pass would drop the banner's `require`.
    treeshake: false,
    // zod and its subpaths, except zod/v3 (see LAZY_PACKAGES).
    noExternal: ['@modelcontextprotocol/sdk', /^zod(?!\/v3$)(\/.*)?$/, 'pino'],
    banner: { js: CLI_BANNER },
    external: LAZY_PACKAGES,
    esbuildPlugins: [englishOnlyZodLocales, lazyInSdk],
    // TSUP_METAFILE=1 writes dist/metafile-esm.json: what each chunk holds (to see what a start loads).
    metafile: process.env.TSUP_METAFILE === '1',
    esbuildOptions(options) {
      // Its own chunk names, so the two builds never write the same file.
      options.chunkNames = 'cli-[name]-[hash]';
      // Less source for Node to compile at every start (about a third less); identifiers keep their
      // names, so stack traces in logs stay readable without source maps.
      options.minifyWhitespace = true;
      options.minifySyntax = true;
    },
  },
]);
