import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by src/console under the server's base path, so every URL in the build is relative
// ('./assets/…'). Nothing is inlined (the CSP allows no inline scripts or styles and no data: URLs).
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
