/**
 * The orchestrator's config section: declared once, read by the CLI (flags,
 * --help) and the config loader (env, defaults, validation). Light on
 * purpose: the CLI imports it at start.
 */
import { z } from 'zod';
import { defineSection, option, positiveInt, type SectionValue } from '../app/options.js';

/** The default model: Google's current Flash model (gemini-2.5-flash was shut down on 2026-12-01). */
export const DEFAULT_MODEL = 'gemini-3.8-flash';
/**
 * Pinned so an SDK upgrade cannot move the wire format under us: @google/genai 2.x
 * defaults to v1beta and 3.x to v1. `parametersJsonSchema` is a v1beta field.
 */
export const DEFAULT_API_VERSION = 'v1beta';
export const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

const thinkingBudget = z.coerce
  .number()
  .int()
  .min(-1, 'must be -1 (dynamic), 0 (off) or a token budget')
  .max(32_768)
  .optional();

export const orchestratorOptions = {
  apiKey: option({
    schema: z.string().trim().min(1).optional(),
    env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    secret: true,
    help: 'Gemini API key (from https://aistudio.google.com/apikey); without it the chat answers 503',
    more: true,
  }),
  model: option({
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a model id like gemini-3.8-flash')
      .default(DEFAULT_MODEL),
    env: ['GEMINI_MODEL'],
    flag: 'model',
    arg: '<id>',
    commands: ['chat'],
    help: `Gemini model, default ${DEFAULT_MODEL}`,
  }),
  baseUrl: option({
    schema: z.url({ protocol: /^https?$/ }).default(DEFAULT_BASE_URL),
    env: ['GEMINI_BASE_URL'],
    help: 'Gemini API origin (a proxy or a test fake), default Google',
    more: true,
  }),
  apiVersion: option({
    schema: z.enum(['v1', 'v1beta', 'v1alpha']).default(DEFAULT_API_VERSION),
    env: ['GEMINI_API_VERSION'],
    help: `Gemini API version, pinned (default ${DEFAULT_API_VERSION})`,
    more: true,
  }),
  thinkingBudget: option({
    schema: thinkingBudget,
    env: ['THINKING_BUDGET'],
    help: 'Thinking budget in tokens (-1 dynamic, 0 off); mapped to a thinking level on Gemini 3',
    more: true,
  }),
  thinkingLevel: option({
    schema: z
      .string()
      .trim()
      .toUpperCase()
      .pipe(z.enum(['MINIMAL', 'LOW', 'MEDIUM', 'HIGH']))
      .optional(),
    env: ['THINKING_LEVEL'],
    help: 'Gemini 3 thinking level: MINIMAL, LOW, MEDIUM or HIGH (default: the model’s own)',
    more: true,
  }),
  maxSteps: option({
    schema: z.coerce.number().int().min(1).max(100).default(10),
    env: ['CHAT_MAX_STEPS'],
    help: 'Most Gemini calls in one chat turn, default 10',
    more: true,
  }),
  writePolicy: option({
    schema: z.enum(['ask', 'allow', 'deny']).default('ask'),
    env: ['CHAT_WRITE_POLICY'],
    help: 'Writing tools in chat: ask (default, the person approves each), allow, or deny',
    more: true,
  }),
  pricing: option({
    schema: z.string().trim().min(1).optional(),
    env: ['GEMINI_PRICING'],
    help: 'Price table (a JSON file or inline JSON) overriding the built-in per-model prices',
    more: true,
  }),
  turnTimeoutMs: option({
    schema: positiveInt(180_000),
    env: ['CHAT_TURN_TIMEOUT_MS'],
    help: 'Longest a chat turn may take (model calls and tools), default 180000',
    more: true,
  }),
  requestTimeoutMs: option({
    schema: positiveInt(60_000),
    env: ['GEMINI_TIMEOUT_MS'],
    help: 'Longest one Gemini request may take, default 60000',
    more: true,
  }),
  maxRetries: option({
    schema: z.coerce.number().int().min(0).max(10).default(3),
    env: ['GEMINI_MAX_RETRIES'],
    help: 'Retries of a Gemini 429/5xx within the turn deadline, default 3',
    more: true,
  }),
  contextTokens: option({
    schema: positiveInt(200_000),
    env: ['CHAT_CONTEXT_TOKENS'],
    help: 'History sent to the model, in (estimated) tokens; older exchanges are trimmed, default 200000',
    more: true,
  }),
  maxOutputTokens: option({
    schema: positiveInt(8_192),
    env: ['GEMINI_MAX_OUTPUT_TOKENS'],
    help: 'Most output tokens per model call, default 8192',
    more: true,
  }),
  message: option({
    schema: z.string().optional(),
    flag: 'message',
    short: 'm',
    arg: '<text>',
    commands: ['chat'],
    help: 'chat: answer this one message and exit',
  }),
  session: option({
    schema: z.string().trim().min(1).optional(),
    flag: 'session',
    arg: '<id>',
    commands: ['chat'],
    help: 'chat: continue this session',
  }),
};

export const orchestratorSection = defineSection(
  'orchestrator',
  'Chat (orchestrator) options',
  orchestratorOptions,
);

export type OrchestratorSettings = SectionValue<typeof orchestratorOptions>;

/** Where the key comes from, said the same way by the HTTP 503 and the terminal. */
export const NO_KEY_HELP =
  'Set GEMINI_API_KEY to use the chat: create a key at https://aistudio.google.com/apikey, then export GEMINI_API_KEY=<key> and restart.';
