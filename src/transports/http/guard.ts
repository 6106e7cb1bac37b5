import type { RequestHandler, Response } from 'express';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Loopback host names for a port: localhost, 127.0.0.1, [::1], each with and without :port. */
export function loopbackHosts(port: number): string[] {
  return LOOPBACK_NAMES.flatMap((name) => [name, `${name}:${port}`]);
}

import { isLoopbackAddress } from '../../app/network.js';

interface HostPort {
  /** Lower-case host name; IPv6 literals keep their brackets. */
  name: string;
  port: string | undefined;
}

/** Splits a Host header (or an allow-list entry) into name and port. */
function parseHost(value: string): HostPort {
  const host = value.trim().toLowerCase();
  const ipv6 = /^(\[[^\]]*\])(?::(\d+))?$/.exec(host);
  if (ipv6) return { name: ipv6[1]!, port: ipv6[2] };
  // A bare IPv6 literal in the allow-list ('::1'): bracket it as it appears in Host headers.
  if (host.split(':').length > 2) return { name: `[${host}]`, port: undefined };
  const [name = '', port] = host.split(':');
  return { name, port };
}

/** Entries without a port allow any port, so `example.com` also covers `example.com:8443`. */
function hostAllowed(host: HostPort, allowed: readonly HostPort[]): boolean {
  return allowed.some(
    (entry) => entry.name === host.name && (entry.port === undefined || entry.port === host.port),
  );
}

/** Canonical origin (scheme://host[:port], default port dropped); unparsable entries stay as written. */
function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.trim().toLowerCase();
  }
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackAddress(url.hostname);
  } catch {
    return false;
  }
}

function forbidden(res: Response, message: string): void {
  res.status(403).json({ error: { code: 'forbidden', message } });
}

/** Attacker-controlled header values are quoted in messages; keep them short. */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value);
}

export interface HostAndOriginGuardOptions {
  /** Host header values (case-insensitive; no port = any port). `['*']` disables the Host check. */
  allowedHosts: readonly string[];
  /** Exact origins allowed to call from a browser. `'*'` allows any origin. */
  allowedOrigins: readonly string[];
}

/**
 * DNS-rebinding protection. A rebinding page reaches us under the attacker's host name, so an allow-listed Host
 * stops it; browsers also send Origin on cross-origin requests, which the MCP spec requires us to reject (403)
 * unless trusted. CORS alone is not access control: non-preflighted requests still reach the handler.
 */
export function hostAndOriginGuard(options: HostAndOriginGuardOptions): RequestHandler {
  const anyHost = options.allowedHosts.includes('*');
  const hosts = options.allowedHosts.map(parseHost).filter((entry) => entry.name !== '');
  const anyOrigin = options.allowedOrigins.includes('*');
  const origins = new Set(options.allowedOrigins.map(normalizeOrigin));

  return (req, res, next) => {
    const rawHost = req.headers.host ?? '';
    const host = parseHost(rawHost);
    if (!anyHost && !hostAllowed(host, hosts)) {
      return forbidden(res, `Host ${quote(rawHost)} is not allowed; add it to the allowed hosts`);
    }
    const origin = req.headers.origin;
    if (origin === undefined || anyOrigin || origins.has(normalizeOrigin(origin))) return next();
    // Local tools (an inspector on another port) may call a server that is itself only reachable on loopback.
    if (isLoopbackAddress(host.name) && isLoopbackOrigin(origin)) return next();
    forbidden(res, `Origin ${quote(origin)} is not allowed; add it to the allowed origins`);
  };
}

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = [
  'Content-Type',
  'Authorization',
  'X-API-Key',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Last-Event-ID',
  'X-Request-Id',
].join(', ');
// Browsers hide Mcp-Session-Id unless exposed, and clients then send `initialized` without a session.
const EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, X-Request-Id, Retry-After';

/**
 * CORS for listed origins (exact match, or '*'). Preflights are answered here with 204; other origins get no
 * CORS headers, so browsers block them. Credentials are headers, not cookies, so no Allow-Credentials.
 */
export function cors(options: { origins: readonly string[] }): RequestHandler {
  const anyOrigin = options.origins.includes('*');
  const origins = new Set(options.origins.map(normalizeOrigin));

  return (req, res, next) => {
    // The answer depends on Origin, so shared caches must key on it even when no CORS headers are sent.
    res.vary('Origin');
    const origin = req.headers.origin;
    const listed = origin !== undefined && (anyOrigin || origins.has(normalizeOrigin(origin)));
    const preflight =
      req.method === 'OPTIONS' && origin !== undefined && req.get('access-control-request-method');
    if (listed) {
      res.set('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      res.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    if (!preflight) return next();
    if (listed) {
      res.set('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.set('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.set('Access-Control-Max-Age', '600');
    }
    res.status(204).end();
  };
}
