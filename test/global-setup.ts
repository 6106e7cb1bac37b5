/**
 * The CLI tests spawn dist/cli.js. Build it when it is missing or older than
 * any source file, so `npx vitest` works on its own as well as after `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const cli = 'dist/cli.js';
  if (
    existsSync(cli) &&
    statSync(cli).mtimeMs >= Math.max(newestMtime('src'), statSync('package.json').mtimeMs)
  ) {
    return;
  }
  try {
    execFileSync('npx', ['tsup', '--silent'], {
      stdio: 'inherit',
      env: { ...process.env, TSUP_SKIP_DTS: '1' },
    });
  } catch {
    // Only the CLI tests need dist/; they fail on their own with a clear message, the rest can still run.
    process.stderr.write('global-setup: build failed; tests that spawn dist/cli.js will fail\n');
  }
}
