/**
 * What the orchestrator knows about Gemini models: how each one takes its
 * thinking setting (a level on Gemini 3, a token budget on 2.5) and what it
 * costs. Prices change and differ between sources, so every figure here is
 * an estimate and the table can be replaced (GEMINI_PRICING).
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

export type ThinkingLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH';

export interface ModelInfo {
  id: string;
  family: '3.x' | '2.5';
  /** Gemini 3 takes thinkingLevel; 2.5 takes thinkingBudget (setting both is a 400). */
  thinking:
    | { kind: 'level'; levels: readonly ThinkingLevel[]; defaultLevel: ThinkingLevel }
    | { kind: 'budget'; min: number; max: number; canDisable: boolean };
  note?: string;
}

export interface ModelPrice {
  /** US dollars per million tokens. Thinking tokens bill as output. */
  inputPerMTok: number;
  outputPerMTok: number;
  /** Cached input; default the input price. */
  cachedInputPerMTok?: number;
  source?: string;
}

/**
 * Current models and their thinking levels, as checked in December 2026
 * (Google Cloud's "Developer's guide to Gemini 3.8 Flash" and the 3.5
 * Flash-Lite model page; see docs/orchestrator.md for the sources).
 * gemini-2.5-flash and gemini-2.5-pro were shut down on 2026-12-01.
 */
export const KNOWN_MODELS: readonly ModelInfo[] = [
  {
    id: 'gemini-3.8-flash',
    family: '3.x',
    thinking: { kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MEDIUM' },
    note: 'Released 2026-09-02; rejects MINIMAL (a 400).',
  },
  {
    id: 'gemini-3.7-flash',
    family: '3.x',
    thinking: { kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MEDIUM' },
    note: 'Superseded by 3.8 Flash, still served; rejects MINIMAL.',
  },
  {
    id: 'gemini-3.6-flash',
    family: '3.x',
    thinking: { kind: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MEDIUM' },
  },
  {
    id: 'gemini-3.5-flash',
    family: '3.x',
    thinking: { kind: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MEDIUM' },
  },
  {
    id: 'gemini-3.5-flash-lite',
    family: '3.x',
    thinking: { kind: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MINIMAL' },
    note: 'Where requests for the retired gemini-2.5-flash are routed; ignores custom temperature.',
  },
  {
    id: 'gemini-3.1-flash-lite',
    family: '3.x',
    thinking: { kind: 'level', levels: ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MINIMAL' },
    note: 'Shutdown announced for 2027-05-07.',
  },
  {
    id: 'gemini-3.1-pro-preview',
    family: '3.x',
    thinking: { kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'HIGH' },
  },
  {
    id: 'gemini-2.5-flash-lite',
    family: '2.5',
    thinking: { kind: 'budget', min: 512, max: 24_576, canDisable: true },
    note: 'Budget 0 or 512-24576.',
  },
];

/**
 * Built-in prices (USD per 1M tokens, standard paid tier, prompts up to 200K
 * tokens) where a source states them; other models are unpriced until
 * GEMINI_PRICING names them. Launch prices end: re-check the pricing page.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gemini-3.8-flash': {
    inputPerMTok: 0.75,
    outputPerMTok: 3.75,
    source:
      'ai.google.dev/gemini-api/docs/pricing as transcribed 2026-10-07 ("$0.75 through December 31, 2026")',
  },
  'gemini-3.7-flash': {
    inputPerMTok: 0.75,
    outputPerMTok: 3.75,
    cachedInputPerMTok: 0.075,
    source: 'launch price (standard $1.50 / $7.50), model catalogues 2026-09',
  },
  'gemini-3.5-flash': {
    inputPerMTok: 1.5,
    outputPerMTok: 9,
    cachedInputPerMTok: 0.15,
    source: 'ai.google.dev pricing as quoted 2026-06',
  },
  'gemini-3.5-flash-lite': {
    inputPerMTok: 0.3,
    outputPerMTok: 2.5,
    cachedInputPerMTok: 0.03,
    source: 'model catalogue 2026-07-21',
  },
  'gemini-3.1-flash-lite': {
    inputPerMTok: 0.25,
    outputPerMTok: 1.5,
    source: 'ai.google.dev pricing as quoted 2026-05',
  },
};

/** Info for any model id: known ones from the table, others guessed from the id (3.x → levels). */
export function modelInfo(id: string): ModelInfo {
  const known = KNOWN_MODELS.find((model) => model.id === id);
  if (known) return known;
  if (/^gemini-2\.5-/.test(id)) {
    const pro = id.includes('pro');
    return {
      id,
      family: '2.5',
      thinking: { kind: 'budget', min: pro ? 128 : 0, max: pro ? 32_768 : 24_576, canDisable: !pro },
    };
  }
  return {
    id,
    family: '3.x',
    thinking: { kind: 'level', levels: ['LOW', 'MEDIUM', 'HIGH'], defaultLevel: 'MEDIUM' },
  };
}

export interface ThinkingRequest {
  budget?: number;
  level?: ThinkingLevel;
}

/** What was sent to the model, reported back so a caller sees its setting was honoured. */
export interface AppliedThinking {
  thinkingLevel?: ThinkingLevel;
  thinkingBudget?: number;
  /** Why the request was adjusted (a level the model lacks, a budget out of range). */
  adjusted?: string;
}

/**
 * The model's thinkingConfig for a requested budget or level. Gemini 3 gets a
 * level (a budget is mapped onto one), 2.5 a budget (clamped to its range).
 * Undefined: send nothing, the model uses its default.
 */
export function thinkingConfigFor(model: ModelInfo, request: ThinkingRequest): AppliedThinking | undefined {
  if (model.thinking.kind === 'level') {
    const wanted =
      request.level ?? (request.budget === undefined ? undefined : levelForBudget(request.budget));
    if (wanted === undefined) return undefined;
    const levels = model.thinking.levels;
    if (levels.includes(wanted)) return { thinkingLevel: wanted };
    const nearest = levels[0]!;
    return {
      thinkingLevel: nearest,
      adjusted: `${model.id} does not take thinking level ${wanted}; used ${nearest}`,
    };
  }
  if (request.budget === undefined || request.budget === -1) {
    return request.budget === -1 ? { thinkingBudget: -1 } : undefined;
  }
  return clampBudget(model, request.budget);
}

function levelForBudget(budget: number): ThinkingLevel | undefined {
  if (budget < 0) return undefined;
  if (budget === 0) return 'MINIMAL';
  if (budget <= 2_048) return 'LOW';
  if (budget <= 12_288) return 'MEDIUM';
  return 'HIGH';
}

function clampBudget(model: ModelInfo, budget: number): AppliedThinking {
  if (model.thinking.kind !== 'budget') return { thinkingBudget: budget };
  const { min, max, canDisable } = model.thinking;
  if (budget === 0 && canDisable) return { thinkingBudget: 0 };
  const clamped = Math.min(max, Math.max(min, budget));
  if (clamped === budget) return { thinkingBudget: budget };
  return { thinkingBudget: clamped, adjusted: `${model.id} takes budgets ${min}-${max}; used ${clamped}` };
}

/* ---- prices ---- */

const PriceSchema = z
  .object({
    input_per_mtok: z.number().nonnegative(),
    output_per_mtok: z.number().nonnegative(),
    cached_input_per_mtok: z.number().nonnegative().optional(),
    source: z.string().optional(),
  })
  .strict();
const PricingSchema = z.record(z.string().min(1), PriceSchema);

export class PricingError extends Error {
  override name = 'PricingError';
}

/** GEMINI_PRICING: inline JSON or a JSON file path, `{ "<model>": { input_per_mtok, output_per_mtok, … } }`. */
export function loadPricing(setting: string | undefined): Record<string, ModelPrice> {
  const prices: Record<string, ModelPrice> = { ...DEFAULT_PRICES };
  if (!setting) return prices;
  const text = setting.startsWith('{') ? setting : readPricingFile(setting);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PricingError(`GEMINI_PRICING is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = PricingSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PricingError(
      `GEMINI_PRICING: ${issue.path.join('.') || '(root)'}: ${issue.message} (expected {"<model>": {"input_per_mtok": n, "output_per_mtok": n}})`,
    );
  }
  for (const [model, price] of Object.entries(parsed.data)) {
    prices[model] = {
      inputPerMTok: price.input_per_mtok,
      outputPerMTok: price.output_per_mtok,
      cachedInputPerMTok: price.cached_input_per_mtok,
      source: price.source ?? 'GEMINI_PRICING',
    };
  }
  return prices;
}

function readPricingFile(path: string): string {
  if (!existsSync(path))
    throw new PricingError(`GEMINI_PRICING: no such file ${path} (or start inline JSON with "{")`);
  return readFileSync(path, 'utf8');
}

/** Token counts of one or more model calls, from usageMetadata. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  thinkingTokens: number;
  cachedTokens: number;
  toolUseTokens: number;
  totalTokens: number;
}

export const NO_TOKENS: TokenUsage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  thinkingTokens: 0,
  cachedTokens: 0,
  toolUseTokens: 0,
  totalTokens: 0,
});

export function addTokens(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    thinkingTokens: a.thinkingTokens + b.thinkingTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    toolUseTokens: a.toolUseTokens + b.toolUseTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

interface UsageMetadataLike {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export function tokensFrom(usage: UsageMetadataLike | undefined): TokenUsage {
  if (!usage) return { ...NO_TOKENS };
  const input = usage.promptTokenCount ?? 0;
  const output = usage.candidatesTokenCount ?? 0;
  const thinking = usage.thoughtsTokenCount ?? 0;
  const toolUse = usage.toolUsePromptTokenCount ?? 0;
  return {
    inputTokens: input,
    outputTokens: output,
    thinkingTokens: thinking,
    cachedTokens: usage.cachedContentTokenCount ?? 0,
    toolUseTokens: toolUse,
    totalTokens: usage.totalTokenCount ?? input + output + thinking + toolUse,
  };
}

export interface CostEstimate {
  totalUsd: number;
  inputUsd: number;
  outputUsd: number;
  thinkingUsd: number;
  /** False when the model has no price: the figures are 0 and say nothing. */
  priced: boolean;
}

const PER_MTOK = 1_000_000;

/** Cost of these tokens at the model's price: input (cached at its rate, tool-use prompts as input), output + thinking. */
export function estimateCost(tokens: TokenUsage, price: ModelPrice | undefined): CostEstimate {
  if (!price) return { totalUsd: 0, inputUsd: 0, outputUsd: 0, thinkingUsd: 0, priced: false };
  const fresh = Math.max(0, tokens.inputTokens - tokens.cachedTokens) + tokens.toolUseTokens;
  const cachedRate = price.cachedInputPerMTok ?? price.inputPerMTok;
  const inputUsd = (fresh * price.inputPerMTok + tokens.cachedTokens * cachedRate) / PER_MTOK;
  const outputUsd = (tokens.outputTokens * price.outputPerMTok) / PER_MTOK;
  const thinkingUsd = (tokens.thinkingTokens * price.outputPerMTok) / PER_MTOK;
  return { totalUsd: inputUsd + outputUsd + thinkingUsd, inputUsd, outputUsd, thinkingUsd, priced: true };
}
