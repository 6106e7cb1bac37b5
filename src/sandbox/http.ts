/** Low-level HTTP helpers: URL splitting, path decoding, bounded body reading and JSON responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'DELETE,GET,OPTIONS,PATCH,POST,PUT',
  'access-control-allow-headers':
    'authorization,content-length,content-type,user-agent,x-airtable-application-id,x-airtable-user-agent,x-api-version,x-requested-with',
};

export const JSON_TYPE = 'application/json; charset=utf-8';

/** Raw path and query. The path is never normalised: `..` segments must not reach other routes. */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  return { path, query: new URLSearchParams(at < 0 ? '' : url.slice(at + 1)) };
}

/**
 * Segments of a path, each percent-decoded after splitting on `/` (so `a%2Fb` is one segment "a/b").
 * One trailing slash is tolerated (airtable.js sends `/Table/?`); empty or undecodable segments → undefined.
 */
export function pathSegments(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  if (raw.length > 1 && raw.at(-1) === '') raw.pop();
  const out: string[] = [];
  for (const segment of raw) {
    if (segment === '') return undefined;
    try {
      out.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  return out;
}

export interface Body {
  data: Buffer;
  tooLarge: boolean;
}

/** Reads the whole body, keeping at most `limit` bytes (the rest is drained so a 413 can still be sent). */
export function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve({ data: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

/** JSON response; `cors: false` leaves out the CORS headers (control routes must not be readable cross-origin). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  cors = true,
) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...(cors ? CORS_HEADERS : {}),
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** The sandbox-only control routes (`/_sandbox/...`): no CORS, Origin and Host checked, optional control token. */
export function isControlPath(path: string): boolean {
  return path.startsWith('/_sandbox/');
}

/** Lower case, without IPv6 brackets or a trailing dot: `[::1]` → `::1`, `localhost.` → `localhost`. */
export function normaliseHostName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** The name in a Host header (`127.0.0.1:8787`, `[::1]:8787`, `localhost`), normalised, port dropped. */
export function hostHeaderName(value: string): string {
  const host = value.trim();
  const ipv6 = /^(\[[^\]]*\])(?::\d*)?$/.exec(host);
  if (ipv6) return normaliseHostName(ipv6[1]!);
  // More than one colon without brackets is not a valid Host; keep it whole so it matches nothing.
  if (host.split(':').length > 2) return normaliseHostName(host);
  return normaliseHostName(host.split(':')[0]!);
}

/** `localhost`, any `127.x.y.z`, `::1` and its IPv4-mapped forms; expects a normalised name. */
export function isLoopbackName(name: string): boolean {
  return (
    name === 'localhost' ||
    name === '::1' ||
    name === '0:0:0:0:0:0:0:1' ||
    /^(::ffff:)?127(\.\d{1,3}){3}$/.test(name)
  );
}

/** `0.0.0.0` and `::`: every interface. */
export function isWildcardAddress(name: string): boolean {
  return name === '' || name === '0.0.0.0' || name === '::' || name === '0:0:0:0:0:0:0:0';
}

/** True for an Origin header naming a loopback host (`http://localhost:5173`); `null` and junk are not. */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin.trim());
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return isLoopbackName(normaliseHostName(url.hostname));
}
