/**
 * Helpers for the console's browser tests: build the console into a private
 * folder (dist/ is rebuilt by other runs), launch Debian's chromium through
 * playwright-core, watch for CSP violations and run axe-core in the page.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 740 };
export const OUTPUT_DIR = 'test-output';

/** vite build of console/ into a fresh temporary folder; returns the folder. */
export async function buildConsole(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'amk-console-'));
  const { build } = await import('vite');
  await build({
    configFile: 'console/vite.config.ts',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context on a new, empty user-data-dir (no profile, no extensions, nothing shared). */
export async function launchBrowser(viewport = DESKTOP): Promise<BrowserSession> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'amk-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
    acceptDownloads: true,
  });
  return { context, close: () => context.close() };
}

export type { Browser, Page };

export interface PageWatch {
  /** CSP violations the page reported (blocked URI and directive). */
  cspViolations: string[];
  /** console.error messages and uncaught page errors. */
  errors: string[];
  /** Every /api answer of 400 or more, as `STATUS METHOD /api/path` (what the console and the API disagree on shows here). */
  apiFailures: string[];
}

/** Collect CSP violations and errors from a page for the whole test. */
export async function watchPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = { cspViolations: [], errors: [], apiFailures: [] };
  await page.exposeFunction('__reportCsp', (text: string) => watch.cspViolations.push(text));
  // Strings, not functions: these run in the page (DOM types are not in this project's Node typings).
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
    window.__reportCsp(event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline'));
  });`);
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(message.text());
  });
  page.on('pageerror', (error) => watch.errors.push(String(error)));
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (response.status() >= 400 && url.pathname.includes('/api/')) {
      watch.apiFailures.push(`${response.status()} ${response.request().method()} ${url.pathname}`);
    }
  });
  return watch;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

const axeSource = () => readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Serious and critical axe-core violations on the page as it is now. axe is
 * evaluated through the DevTools protocol, which the page's CSP does not
 * govern, so the CSP under test stays as strict as in production.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(`'axe' in window`);
  if (!loaded) await page.evaluate(axeSource());
  const violations = (await page.evaluate(`axe.run().then((result) => result.violations)`)) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage: true });
}

/** True when nothing sticks out sideways (the page works at this width without horizontal scrolling). */
export async function fitsWidth(page: Page): Promise<boolean> {
  const fits = (await page.evaluate(
    'document.documentElement.scrollWidth <= window.innerWidth + 1',
  )) as boolean;
  if (!fits) {
    // Name the widest culprits, so a failure says what to fix.
    const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5).map((el) => el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))`);
    process.stderr.write(`wider than the viewport: ${JSON.stringify(wide)}\n`);
  }
  return fits;
}
