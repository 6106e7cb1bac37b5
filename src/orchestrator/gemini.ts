/**
 * One model call ("hop") through @google/genai, with our own retry policy:
 * 429/5xx and network failures are retried with backoff, but never past
 * the turn's deadline, and a stream that already produced output is not
 * retried (the person has seen it). The SDK's own retries stay off.
 *
 * The model's content is returned exactly as received: parts are never
 * merged or rewritten, so thought signatures go back unchanged.
 */
import type { Content, GenerateContentResponse, GoogleGenAI, Part } from '@google/genai';
import type { FunctionDeclaration } from './declarations.js';
import type { AppliedThinking } from './models.js';

export interface GeminiSettings {
  apiKey: string;
  baseUrl: string;
  apiVersion: string;
  requestTimeoutMs: number;
  maxRetries: number;
  maxOutputTokens: number;
}

export interface HopRequest {
  model: string;
  contents: Content[];
  systemInstruction: string;
  declarations: FunctionDeclaration[];
  thinking?: AppliedThinking;
  stream: boolean;
  signal: AbortSignal;
  /** When the whole turn must end (epoch ms): retries stop before it. */
  deadline: number;
  /** Streaming: called with each text delta as it arrives (thoughts excluded). */
  onText?: (text: string) => void;
}

export interface HopResponse {
  /** The model's content, every part as received (streamed chunks' parts concatenated, never merged). */
  content: Content;
  finishReason?: string;
  blockReason?: string;
  usageMetadata?: GenerateContentResponse['usageMetadata'];
  modelVersion?: string;
  attempts: number;
}

/** Gemini could not answer (after retries): status is what our HTTP answer should be. */
export class GeminiError extends Error {
  override name = 'GeminiError';
  constructor(
    message: string,
    readonly status: 429 | 502 | 503 | 504,
    readonly upstreamStatus?: number,
  ) {
    super(message);
  }
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

export class GeminiClient {
  #ai: Promise<GoogleGenAI> | undefined;

  constructor(private readonly settings: GeminiSettings) {}

  /** The SDK is loaded on first use: the CLI and servers without chat never pay for it. */
  #client(): Promise<GoogleGenAI> {
    this.#ai ??= import('@google/genai').then(
      ({ GoogleGenAI }) =>
        new GoogleGenAI({
          apiKey: this.settings.apiKey,
          httpOptions: {
            baseUrl: this.settings.baseUrl,
            apiVersion: this.settings.apiVersion,
            timeout: this.settings.requestTimeoutMs,
          },
        }),
    );
    return this.#ai;
  }

  async generate(request: HopRequest): Promise<HopResponse> {
    let attempt = 0;
    for (;;) {
      attempt++;
      let produced = false;
      const onText = request.onText
        ? (text: string) => {
            produced = true;
            request.onText!(text);
          }
        : undefined;
      try {
        const response = await this.#once({ ...request, onText });
        return { ...response, attempts: attempt };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        const status = statusOf(error);
        const retryable = status === undefined ? isNetworkError(error) : RETRYABLE.has(status);
        const delay = backoff(attempt);
        const inTime = Date.now() + delay < request.deadline;
        if (!retryable || produced || attempt > this.settings.maxRetries || !inTime) {
          throw toGeminiError(error, status, attempt);
        }
        await sleep(delay, request.signal);
      }
    }
  }

  async #once(request: HopRequest): Promise<Omit<HopResponse, 'attempts'>> {
    const ai = await this.#client();
    const params = {
      model: request.model,
      contents: alternating(request.contents),
      config: {
        systemInstruction: request.systemInstruction,
        maxOutputTokens: this.settings.maxOutputTokens,
        abortSignal: request.signal,
        ...(request.declarations.length
          ? {
              tools: [{ functionDeclarations: request.declarations }],
              toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
            }
          : {}),
        ...(request.thinking ? { thinkingConfig: thinkingConfigOf(request.thinking) } : {}),
      },
    } as Parameters<GoogleGenAI['models']['generateContent']>[0];
    if (!request.stream) return fromResponse(await ai.models.generateContent(params));
    const parts: Part[] = [];
    let last: GenerateContentResponse | undefined;
    let finishReason: string | undefined;
    for await (const chunk of await ai.models.generateContentStream(params)) {
      last = chunk;
      const candidate = chunk.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        parts.push(part);
        if (typeof part.text === 'string' && !part.thought && part.text) request.onText?.(part.text);
      }
      finishReason = candidate?.finishReason ?? finishReason;
    }
    return {
      content: { role: 'model', parts },
      finishReason,
      blockReason: last?.promptFeedback?.blockReason,
      usageMetadata: last?.usageMetadata,
      modelVersion: last?.modelVersion,
    };
  }
}

function thinkingConfigOf(thinking: AppliedThinking): Record<string, unknown> {
  if (thinking.thinkingLevel) return { thinkingLevel: thinking.thinkingLevel };
  return { thinkingBudget: thinking.thinkingBudget };
}

function fromResponse(response: GenerateContentResponse): Omit<HopResponse, 'attempts'> {
  const candidate = response.candidates?.[0];
  return {
    content: { role: 'model', parts: candidate?.content?.parts ?? [] },
    finishReason: candidate?.finishReason,
    blockReason: response.promptFeedback?.blockReason,
    usageMetadata: response.usageMetadata,
    modelVersion: response.modelVersion,
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // undici's "fetch failed" (connection refused or reset), and the SDK's timeout abort.
  return (
    error.name === 'TypeError' || /fetch failed|ECONNRESET|socket|timed? ?out|aborted/i.test(error.message)
  );
}

function backoff(attempt: number): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', abort, { once: true });
  });
}

/** A clear message for each way Gemini fails; never the key, never a stack. */
function toGeminiError(error: unknown, status: number | undefined, attempts: number): GeminiError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  const detail = upstreamMessage(error);
  if (status === 429) {
    return new GeminiError(
      `Gemini is rate-limiting this API key (429${tries}); wait a minute and try again.`,
      429,
      429,
    );
  }
  if (status === 401 || status === 403) {
    return new GeminiError(
      `Gemini refused the API key (${status}): check GEMINI_API_KEY. ${detail}`.trim(),
      502,
      status,
    );
  }
  if (status === 404) {
    return new GeminiError(
      `Gemini does not know this model or API version (404): check GEMINI_MODEL and GEMINI_API_VERSION. ${detail}`.trim(),
      502,
      404,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new GeminiError(`Gemini rejected the request (${status}): ${detail}`, 502, status);
  }
  if (status !== undefined) {
    return new GeminiError(`Gemini is unavailable (${status}${tries}); try again shortly.`, 503, status);
  }
  return new GeminiError(`Could not reach Gemini${tries}: ${detail || 'network error'}`, 504);
}

/** The error text Gemini sent (the SDK puts the JSON body in the message), shortened. */
function upstreamMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message.slice(0, 500);
  } catch {
    // not JSON: use the text
  }
  return raw.slice(0, 500);
}

/**
 * Consecutive user contents (a turn that failed before the model answered,
 * then a new message) are sent as one, so the request alternates user and
 * model turns. The stored history is not changed.
 */
export function alternating(contents: readonly Content[]): Content[] {
  const out: Content[] = [];
  for (const content of contents) {
    const last = out.at(-1);
    if (last && last.role === 'user' && content.role === 'user') {
      out[out.length - 1] = { ...last, parts: [...(last.parts ?? []), ...(content.parts ?? [])] };
    } else out.push(content);
  }
  return out;
}
