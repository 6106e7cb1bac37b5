/**
 * http_request steps: only to hosts in WORKFLOW_HTTP_ALLOWLIST, and never to
 * private, loopback or link-local addresses unless WORKFLOW_HTTP_ALLOW_PRIVATE.
 * The address check runs in the socket's own DNS lookup, so a name cannot
 * resolve to a public address for the check and a private one for the request.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';

const MAX_RESPONSE_BYTES = 256 * 1024;

export interface HttpPolicy {
  allowlist: readonly string[];
  allowPrivate: boolean;
}

export interface HttpCall {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  expectStatus?: readonly number[];
  timeoutMs: number;
  signal: AbortSignal;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  truncated: boolean;
}

/** Not allowed or not reachable; `retryable` for network errors and 5xx/429. */
export class HttpStepError extends Error {
  override name = 'HttpStepError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

/** Whether the host is on the allowlist ("api.example.com", "*.example.com", "127.0.0.1:8080"). */
export function hostAllowed(url: URL, allowlist: readonly string[]): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const withPort = `${host}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  return allowlist.some((entry) => {
    const e = entry.trim().toLowerCase();
    if (!e) return false;
    if (e === '*') return true;
    if (e.startsWith('*.')) return host.endsWith(e.slice(1));
    return e === host || e === withPort;
  });
}

export function checkUrl(raw: string, policy: HttpPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HttpStepError(`"${raw}" is not a URL`, false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpStepError(`Only http and https URLs are allowed, not ${url.protocol}`, false);
  }
  if (url.username || url.password) throw new HttpStepError('URLs with credentials are not allowed', false);
  if (!hostAllowed(url, policy.allowlist)) {
    throw new HttpStepError(
      `Host ${url.host} is not in WORKFLOW_HTTP_ALLOWLIST${policy.allowlist.length ? '' : ' (empty: no host is allowed)'}`,
      false,
    );
  }
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const blocked = list.find((a) => !allowPrivate && isPrivateAddress(a.address));
      if (blocked) {
        const error = new Error(
          `${hostname} resolves to a private or loopback address (${blocked.address}); set WORKFLOW_HTTP_ALLOW_PRIVATE to allow it`,
        ) as NodeJS.ErrnoException;
        error.code = 'EPRIVATE';
        return callback(error, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export async function sendHttp(call: HttpCall, policy: HttpPolicy): Promise<HttpResult> {
  const url = checkUrl(call.url, policy);
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !policy.allowPrivate && isPrivateAddress(literal)) {
    throw new HttpStepError(
      `${literal} is a private or loopback address; set WORKFLOW_HTTP_ALLOW_PRIVATE to allow it`,
      false,
    );
  }
  const hasBody = call.body !== undefined && call.method !== 'GET' && call.method !== 'HEAD';
  const payload = hasBody
    ? typeof call.body === 'string'
      ? call.body
      : JSON.stringify(call.body)
    : undefined;
  const headers: Record<string, string> = { 'user-agent': 'airtable-mcp-kit-workflow', ...call.headers };
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = typeof call.body === 'string' ? 'text/plain' : 'application/json';
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<{ res: IncomingMessage; body: Buffer; truncated: boolean }>(
    (resolve, reject) => {
      const req = send(
        url,
        {
          method: call.method,
          headers,
          lookup: guardedLookup(policy.allowPrivate) as never,
          timeout: call.timeoutMs,
          signal: call.signal,
        },
        (res) => {
          const parts: Buffer[] = [];
          let size = 0;
          let truncated = false;
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_RESPONSE_BYTES) {
              truncated = true;
              return;
            }
            parts.push(chunk);
            size += chunk.length;
          });
          res.on('end', () =>
            resolve({ res, body: Buffer.concat(parts).subarray(0, MAX_RESPONSE_BYTES), truncated }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${call.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    },
  ).catch((error: NodeJS.ErrnoException) => {
    throw new HttpStepError(
      `${call.method} ${url.origin}${url.pathname} failed: ${error.message}`,
      error.code !== 'EPRIVATE',
    );
  });
  const status = response.res.statusCode ?? 0;
  const ok = call.expectStatus?.length ? call.expectStatus.includes(status) : status >= 200 && status < 300;
  const result: HttpResult = {
    status,
    headers: pickHeaders(response.res),
    body: parseBody(response.body, response.res.headers['content-type']),
    truncated: response.truncated,
  };
  if (!ok) {
    throw new HttpStepError(
      `${call.method} ${url.origin}${url.pathname} answered ${status}`,
      status >= 500 || status === 429 || status === 408,
    );
  }
  return result;
}

function pickHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['content-type', 'location', 'etag', 'x-request-id']) {
    const value = res.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

function parseBody(body: Buffer, type: string | undefined): unknown {
  const text = body.toString('utf8');
  if (type?.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
