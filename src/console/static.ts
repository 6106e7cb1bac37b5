/**
 * Serves the built console from memory: a few small files, read once and
 * gzipped once at start. Hashed assets are cached for a year; index.html is
 * revalidated every time (a new release must be picked up at once). Every
 * answer carries a strict Content-Security-Policy: only this origin's own
 * scripts, styles and API; no inline code, no third-party origins.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { RequestHandler, Response } from 'express';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const CONSOLE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

export interface ConsoleAssets {
  dir: string;
  /** URL path ('/index.html', '/assets/index-abc.js') → file. */
  files: Map<string, Asset>;
}

/** dist/console next to the bundled code (dist/*.js), or from the source tree (tests, tsx). */
export function defaultConsoleDir(): string {
  const candidates = [
    new URL('./console/', import.meta.url),
    new URL('../../dist/console/', import.meta.url),
  ];
  const found = candidates.find((url) => existsSync(new URL('index.html', url)));
  return fileURLToPath(found ?? candidates[0]!);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Reads the built console into memory; undefined when it has not been built. */
export async function loadConsoleAssets(dir: string): Promise<ConsoleAssets | undefined> {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, Asset>();
  for (const path of await listFiles(dir)) {
    const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
    const body = await readFile(path);
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
    files.set(urlPath, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      // Vite names everything under assets/ by its content hash: safe to cache for good.
      cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
    });
  }
  return { dir, files };
}

function send(res: Response, asset: Asset, method: string, acceptsGzip: boolean, notModified: boolean): void {
  res.set(CONSOLE_HEADERS);
  res.set({ 'Content-Type': asset.type, 'Cache-Control': asset.cacheControl, ETag: asset.etag });
  if (asset.gzip) res.vary('Accept-Encoding');
  if (notModified) return void res.status(304).end();
  const body = acceptsGzip && asset.gzip ? asset.gzip : asset.body;
  if (body === asset.gzip) res.set('Content-Encoding', 'gzip');
  res.set('Content-Length', String(body.length));
  res.status(200);
  if (method === 'HEAD') return void res.end();
  res.end(body);
}

/**
 * The handler mounted at the server's root (under the base path). It answers
 * only for the console's own files and passes everything else on, so /api,
 * /mcp and /health are never shadowed.
 */
export function consoleHandler(assets: ConsoleAssets): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path === '/' ? '/index.html' : req.path;
    const asset = assets.files.get(path);
    if (!asset) {
      // A missing hashed file (an old page after a release) is a plain 404, never index.html.
      if (path.startsWith('/assets/')) {
        res.set(CONSOLE_HEADERS);
        return void res.status(404).type('text/plain').send('Not found');
      }
      return next();
    }
    // The page's URLs are relative ('./assets/…', 'api/…'): '/base' must become '/base/' first.
    const pathname = req.originalUrl.split('?')[0] ?? '';
    if (path === '/index.html' && req.path === '/' && !pathname.endsWith('/')) {
      const query = req.originalUrl.slice(pathname.length);
      return void res.redirect(308, `${pathname}/${query}`);
    }
    const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const notModified = req.headers['if-none-match'] === asset.etag;
    send(res, asset, req.method, acceptsGzip, notModified);
  };
}
