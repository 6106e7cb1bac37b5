/**
 * Sandbox-only control routes under `/_sandbox/` (not rate-limited, not counted): stats, reset, fault
 * configuration and the bytes of uploaded attachments. No CORS headers: the server refuses foreign
 * Origins and Hosts before these run, and with `controlToken` set requires it (see `needsControlToken`).
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { invalidRequest, notFound, unparsableBody } from './errors.js';
import { sendJson } from './http.js';
import type { SandboxFaultOptions, SandboxStats } from './options.js';
import type { Store } from './store.js';

export interface ControlTarget {
  store: Store;
  stats(): SandboxStats;
  reset(): void;
  setFaults(faults: SandboxFaultOptions | undefined): void;
  faults(): SandboxFaultOptions | undefined;
}

const probability = z.number().min(0).max(1);
const step = z.union([
  z.literal('ok'),
  z.literal('drop'),
  z.literal(429),
  z.literal(500),
  z.literal(502),
  z.literal(503),
]);
const faultSchema = z.strictObject({
  rates: z
    .strictObject({
      429: probability,
      500: probability,
      502: probability,
      503: probability,
      drop: probability,
    })
    .partial()
    .optional(),
  sequence: z.array(step).optional(),
  latencyMs: z.number().min(0).optional(),
  latencyJitterMs: z.number().min(0).optional(),
  retryAfterSeconds: z.number().min(0).optional(),
  pathPrefix: z.string().optional(),
  seed: z.number().int().optional(),
});

function parseFaults(data: Buffer): SandboxFaultOptions | undefined {
  const text = data.toString('utf8').trim();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw unparsableBody();
  }
  if (json === null) return undefined;
  const parsed = faultSchema.safeParse(json);
  if (!parsed.success)
    throw invalidRequest(`Invalid request: ${parsed.error.issues[0]?.message ?? 'bad fault options'}`);
  return Object.keys(parsed.data).length ? (parsed.data as SandboxFaultOptions) : undefined;
}

function sendAttachment(res: ServerResponse, store: Store, id: string): void {
  const file = store.getAttachment(id);
  if (!file) throw notFound();
  res.writeHead(200, {
    'content-type': file.contentType,
    'content-length': String(file.data.length),
    // The type is whatever the uploader said: an HTML or SVG upload must not run script on the
    // sandbox's own (loopback) origin, from where it could drive the control routes.
    'content-security-policy': "default-src 'none'; sandbox",
    'x-content-type-options': 'nosniff',
  });
  res.end(file.data);
}

const ACTIONS: Record<string, (target: ControlTarget, body: Buffer) => unknown> = {
  'GET stats': (t) => t.stats(),
  'POST reset': (t) => {
    t.reset();
    return { reset: true };
  },
  'GET faults': (t) => ({ faults: t.faults() ?? null }),
  'POST faults': (t, body) => {
    t.setFaults(parseFaults(body));
    return { faults: t.faults() ?? null };
  },
};

function isAttachmentRead(method: string, segments: string[]): boolean {
  return method === 'GET' && segments[1] === 'attachments' && segments.length >= 3;
}

/**
 * Whether `controlToken` (when set) guards this route. Attachment bytes are exempt: their URLs are handed
 * out in API records (behind the API token), carry a random 14-character id, and clients fetch them
 * without credentials, as they do Airtable's signed attachment URLs.
 */
export function needsControlToken(method: string, path: string): boolean {
  return !isAttachmentRead(method, path.split('/').filter(Boolean));
}

export function handleControl(
  target: ControlTarget,
  method: string,
  path: string,
  body: Buffer,
  res: ServerResponse,
): void {
  const segments = path.split('/').filter(Boolean);
  if (isAttachmentRead(method, segments)) {
    sendAttachment(res, target.store, segments[2]!);
    return;
  }
  const action = segments.length === 2 ? ACTIONS[`${method} ${segments[1]}`] : undefined;
  if (!action) throw notFound();
  sendJson(res, 200, action(target, body), {}, false);
}
