/**
 * The orchestrator's config section split into what the engine and the
 * Gemini client take (the module, the CLI and the library build both alike).
 */
import type { EngineSettings } from './engine.js';
import type { OrchestratorSettings } from './options.js';

/** The engine's part of the settings. */
export function engineSettings(settings: OrchestratorSettings): EngineSettings {
  return {
    model: settings.model,
    maxSteps: settings.maxSteps,
    writePolicy: settings.writePolicy,
    turnTimeoutMs: settings.turnTimeoutMs,
    contextTokens: settings.contextTokens,
    thinkingBudget: settings.thinkingBudget,
    thinkingLevel: settings.thinkingLevel,
    maxOutputTokens: settings.maxOutputTokens,
  };
}

/** The Gemini client's part (no key: the chat answers 503). */
export function geminiSettings(settings: OrchestratorSettings) {
  return {
    apiKey: settings.apiKey,
    baseUrl: settings.baseUrl,
    apiVersion: settings.apiVersion,
    requestTimeoutMs: settings.requestTimeoutMs,
    maxRetries: settings.maxRetries,
  };
}
