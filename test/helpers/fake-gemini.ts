/**
 * A fake Gemini REST API over real HTTP on loopback, speaking the wire
 * format @google/genai 2.x uses: POST /{v1|v1beta}/models/{model}:generateContent
 * and :streamGenerateContent?alt=sse (one full GenerateContentResponse per
 * `data:` event, no [DONE]). Tests script each model call ("hop"): text,
 * function calls with thought signatures, usage, errors (429/500) and
 * blocked or truncated answers. Every request is kept for assertions.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCall {
  name: string;
  args?: Record<string, unknown>;
  /** The call's id (Gemini 3 sends one; older models often do not). */
  id?: string;
  /** A thoughtSignature on this functionCall part; must come back unchanged. */
  signature?: string;
}

export interface FakeUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export type FakeHop =
  | {
      text: string;
      /** A thought part before the text. */
      thought?: string;
      signature?: string;
      finishReason?: string;
      usage?: FakeUsage;
      delayMs?: number;
    }
  | { calls: FakeCall[]; text?: string; usage?: FakeUsage; finishReason?: string; delayMs?: number }
  | { error: number; message?: string; delayMs?: number }
  | { blockReason: string; usage?: FakeUsage }
  /** Raw parts, sent as they are. */
  | { parts: Record<string, unknown>[]; finishReason?: string; usage?: FakeUsage };

export interface FakeRequest {
  version: string;
  model: string;
  method: 'generateContent' | 'streamGenerateContent';
  stream: boolean;
  query: string;
  headers: IncomingMessage['headers'];
  body: {
    contents: { role?: string; parts: Record<string, unknown>[] }[];
    systemInstruction?: unknown;
    tools?: { functionDeclarations?: { name: string; parametersJsonSchema?: unknown }[] }[];
    toolConfig?: unknown;
    generationConfig?: { thinkingConfig?: Record<string, unknown>; maxOutputTokens?: number };
  };
}

export type FakeScript = FakeHop | ((request: FakeRequest) => FakeHop);

export interface FakeGemini {
  /** The origin to use as GEMINI_BASE_URL. */
  url: string;
  requests: FakeRequest[];
  /** Queue replies for the next model calls, in order. */
  enqueue(...hops: FakeScript[]): void;
  /** Replies still queued. */
  remaining(): number;
  close(): Promise<void>;
}

export interface FakeGeminiOptions {
  /** The key the fake accepts (403 otherwise); default any. */
  apiKey?: string;
  /** What to answer when nothing is queued; default a short text. */
  fallback?: (request: FakeRequest) => FakeHop;
}

const ROUTE = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const queue: FakeScript[] = [];
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendError(res, 500, String(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path, query = ''] = (req.url ?? '').split('?');
    const match = ROUTE.exec(path ?? '');
    if (req.method !== 'POST' || !match) return sendError(res, 404, `no route ${req.method} ${path}`);
    if (options.apiKey && req.headers['x-goog-api-key'] !== options.apiKey) {
      return sendError(res, 403, 'API key not valid. Please pass a valid API key.', 'PERMISSION_DENIED');
    }
    const body = JSON.parse(await readBody(req)) as FakeRequest['body'];
    const method = match[3] as FakeRequest['method'];
    const request: FakeRequest = {
      version: match[1]!,
      model: decodeURIComponent(match[2]!),
      method,
      stream: method === 'streamGenerateContent',
      query,
      headers: req.headers,
      body,
    };
    requests.push(request);
    const next = queue.shift();
    const hop = next === undefined ? (options.fallback ?? defaultReply)(request) : resolve(next, request);
    if ('delayMs' in hop && hop.delayMs) await delay(hop.delayMs, res);
    if (res.destroyed) return;
    if ('error' in hop) return sendError(res, hop.error, hop.message ?? statusText(hop.error));
    const chunks = responseChunks(hop, request);
    if (!request.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(merge(chunks)));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const chunk of chunks) {
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...hops) => queue.push(...hops),
    remaining: () => queue.length,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function resolve(script: FakeScript, request: FakeRequest): FakeHop {
  return typeof script === 'function' ? script(request) : script;
}

function defaultReply(): FakeHop {
  return { text: 'This is the fake Gemini (nothing was scripted).' };
}

type Chunk = Record<string, unknown>;

/** The reply as stream chunks: text split in pieces, calls in one chunk, usage and finishReason on the last. */
function responseChunks(hop: Exclude<FakeHop, { error: number }>, request: FakeRequest): Chunk[] {
  const usage = usageFor(hop, request);
  if ('blockReason' in hop) {
    return [
      { promptFeedback: { blockReason: hop.blockReason }, usageMetadata: usage, modelVersion: request.model },
    ];
  }
  const partsList: Record<string, unknown>[][] = [];
  let finishReason = 'STOP';
  if ('parts' in hop) {
    partsList.push(hop.parts);
    finishReason = hop.finishReason ?? finishReason;
  } else if ('calls' in hop) {
    if (hop.text) partsList.push([{ text: hop.text }]);
    partsList.push(
      hop.calls.map((call) => ({
        functionCall: { ...(call.id ? { id: call.id } : {}), name: call.name, args: call.args ?? {} },
        ...(call.signature ? { thoughtSignature: call.signature } : {}),
      })),
    );
    finishReason = hop.finishReason ?? finishReason;
  } else {
    if (hop.thought) partsList.push([{ text: hop.thought, thought: true }]);
    const pieces = splitText(hop.text, request.stream ? 3 : 1);
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      partsList.push([
        { text: piece, ...(last && hop.signature ? { thoughtSignature: hop.signature } : {}) },
      ]);
    });
    finishReason = hop.finishReason ?? finishReason;
  }
  return partsList.map((parts, i) => {
    const last = i === partsList.length - 1;
    return {
      candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason } : {}) }],
      ...(last ? { usageMetadata: usage } : {}),
      modelVersion: request.model,
      responseId: `fake-${Date.now()}`,
    };
  });
}

/** A non-streamed answer: all chunk parts in one content (what generateContent returns). */
function merge(chunks: Chunk[]): Chunk {
  if (chunks.length === 1) return chunks[0]!;
  const last = chunks.at(-1) as { candidates: { finishReason?: string }[] } & Chunk;
  const parts = chunks.flatMap(
    (chunk) => (chunk as { candidates: { content: { parts: unknown[] } }[] }).candidates[0]!.content.parts,
  );
  return {
    ...last,
    candidates: [
      { content: { role: 'model', parts }, index: 0, finishReason: last.candidates[0]!.finishReason },
    ],
  };
}

function usageFor(hop: Exclude<FakeHop, { error: number }>, request: FakeRequest): FakeUsage {
  const prompt = Math.ceil(JSON.stringify(request.body.contents).length / 4);
  const base: FakeUsage = { promptTokenCount: prompt, candidatesTokenCount: 12, thoughtsTokenCount: 8 };
  const usage = { ...base, ...('usage' in hop ? hop.usage : {}) };
  usage.totalTokenCount ??=
    (usage.promptTokenCount ?? 0) +
    (usage.candidatesTokenCount ?? 0) +
    (usage.thoughtsTokenCount ?? 0) +
    (usage.toolUsePromptTokenCount ?? 0);
  return usage;
}

function splitText(text: string, pieces: number): string[] {
  if (pieces <= 1 || text.length < pieces) return [text];
  const size = Math.ceil(text.length / pieces);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sendError(res: ServerResponse, code: number, message: string, status = statusName(code)): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, status } }));
}

function statusName(code: number): string {
  if (code === 429) return 'RESOURCE_EXHAUSTED';
  if (code === 400) return 'INVALID_ARGUMENT';
  if (code === 403) return 'PERMISSION_DENIED';
  if (code === 404) return 'NOT_FOUND';
  if (code === 503) return 'UNAVAILABLE';
  return 'INTERNAL';
}

function statusText(code: number): string {
  if (code === 429) return 'Resource exhausted. Please try again later.';
  if (code >= 500) return 'An internal error has occurred.';
  return 'Request failed.';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function delay(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolveDelay) => {
    const timer = setTimeout(resolveDelay, ms);
    res.on('close', () => {
      clearTimeout(timer);
      resolveDelay();
    });
  });
}

/** Helpers for scripts. */
export const say = (
  text: string,
  extra: Omit<Extract<FakeHop, { text: string; thought?: string }>, 'text'> = {},
) => ({ text, ...extra }) as FakeHop;
export const callTools = (...calls: FakeCall[]): FakeHop => ({ calls });
export const fault = (status: number, message?: string): FakeHop => ({ error: status, message });

/** The functionResponse parts of the last request's last content (what the orchestrator sent back). */
export function lastFunctionResponses(
  request: FakeRequest,
): { id?: string; name: string; response: Record<string, unknown> }[] {
  const last = request.body.contents.at(-1);
  return (last?.parts ?? [])
    .map(
      (part) =>
        part.functionResponse as { id?: string; name: string; response: Record<string, unknown> } | undefined,
    )
    .filter(
      (part): part is { id?: string; name: string; response: Record<string, unknown> } => part !== undefined,
    );
}
