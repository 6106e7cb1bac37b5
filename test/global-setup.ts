/**
 * The CLI tests spawn dist/cli.js. Build it when it is missing or older than
 * any source file, so `npx vitest` works on its own as well as after `npm run build`.
 *
 * The build goes to a temporary folder that then replaces dist/ in two
 * renames, under a lock: a test run that is spawning dist/cli.js while
 * another run rebuilds never finds it half-written or cleaned away.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const LOCK = 'dist.lock';
const LOCK_STALE_MS = 5 * 60_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function fresh(): boolean {
  const cli = 'dist/cli.js';
  return (
    existsSync(cli) && statSync(cli).mtimeMs >= Math.max(newestMtime('src'), statSync('package.json').mtimeMs)
  );
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One builder at a time; a lock left by a killed run is taken over after a while. */
function withLock(run: () => void): void {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const since = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > LOCK_STALE_MS) {
        rmSync(LOCK, { recursive: true, force: true });
      }
      sleep(200);
    }
  }
  try {
    run();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function build(): void {
  const out = `dist.build-${process.pid}`;
  rmSync(out, { recursive: true, force: true });
  execFileSync('npx', ['tsup', '--silent', '--out-dir', out], {
    stdio: 'inherit',
    env: { ...process.env, TSUP_SKIP_DTS: '1' },
  });
  // The console's assets come from its own (Vite) build; keep the ones already built.
  if (existsSync('dist/console') && !existsSync(join(out, 'console'))) {
    cpSync('dist/console', join(out, 'console'), { recursive: true });
  }
  const old = `dist.old-${process.pid}`;
  if (existsSync('dist')) renameSync('dist', old);
  renameSync(out, 'dist');
  rmSync(old, { recursive: true, force: true });
}

export default function setup(): void {
  if (fresh()) return;
  try {
    withLock(() => {
      if (!fresh()) build();
    });
  } catch {
    // Only the CLI tests need dist/; they fail on their own with a clear message, the rest can still run.
    process.stderr.write('global-setup: build failed; tests that spawn dist/cli.js will fail\n');
  }
}
