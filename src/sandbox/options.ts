/** Options and handle of an in-process sandbox (see `startSandbox`). */

export interface SandboxRateLimitOptions {
  /** Requests allowed per base in any 1-second window (Airtable: 5). */
  perBasePerSec?: number;
  /** Requests allowed per token in any 1-second window (Airtable: 50). */
  perTokenPerSec?: number;
  /** How long a base/token stays blocked after exceeding a limit (Airtable: 30 000 ms). */
  penaltyMs?: number;
  /** Send `Retry-After` on 429 (real Airtable does not). Default false. */
  emitRetryAfter?: boolean;
}

/** One scripted response; `'ok'` lets the request through, `'drop'` destroys the socket. */
export type FaultStep = 'ok' | 'drop' | 429 | 500 | 502 | 503;

export interface SandboxFaultOptions {
  /** Probability (0..1) per request of each injected status. */
  rates?: Partial<Record<429 | 500 | 502 | 503 | 'drop', number>>;
  /** Scripted outcomes consumed one per request, before `rates` apply. */
  sequence?: FaultStep[];
  /** Added latency per request in ms (fixed part). */
  latencyMs?: number;
  /** Extra random latency in ms, uniformly 0..latencyJitterMs. */
  latencyJitterMs?: number;
  /** `Retry-After` seconds to send with injected 429/503 responses (omitted when undefined). */
  retryAfterSeconds?: number;
  /** Only inject into requests whose path starts with this (e.g. `/v0/app...`). */
  pathPrefix?: string;
  /** Seed for the fault PRNG so runs are repeatable. */
  seed?: number;
}

export interface SandboxOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** SQLite file for the data; default in memory. */
  dataFile?: string;
  /** What a fresh database starts with: the demo bases (default) or one empty base. Ignored when dataFile already has data. */
  seed?: 'demo' | 'empty';
  /** The one valid bearer token; default `patSandbox.localdevtoken`. */
  token?: string;
  /**
   * When set, the control routes (`/_sandbox/stats`, `/_sandbox/reset`, `/_sandbox/faults`) also require
   * `Authorization: Bearer <controlToken>` (401 without it). Attachment bytes (`/_sandbox/attachments/...`)
   * stay open: their unguessable URLs come from API records. Default unset: open on loopback.
   *
   * Whatever this is, control routes never send CORS headers, and refuse (403 FORBIDDEN) any request whose
   * `Origin` is not a loopback page. Every route refuses a `Host` that is not a loopback name
   * (DNS rebinding) unless it is the non-loopback `host` the sandbox was bound to; bound to every
   * interface (`0.0.0.0`, `::`) any Host is accepted, so set this (and `token`) before exposing the sandbox.
   */
  controlToken?: string;
  /** Rate limits like Airtable's (default on); `false` turns them off. */
  rateLimit?: false | SandboxRateLimitOptions;
  /** Fault injection; off by default. Can be changed at run time with `POST /_sandbox/faults`. */
  faults?: SandboxFaultOptions;
  /** How long a list-records offset stays valid; default 10 minutes. */
  iteratorTtlMs?: number;
  /** Largest accepted request body in bytes; default 2 MiB (413 past it). */
  maxBodyBytes?: number;
}

export interface SandboxBaseStats {
  requests: number;
  /** The most requests this base received in any sliding 1-second window. */
  maxPerSecond: number;
  rateLimited: number;
}

export interface SandboxStats {
  bases: Record<string, SandboxBaseStats>;
  totals: { requests: number; rateLimited: number; faultsInjected: number };
}

export interface SandboxHandle {
  /** Base URL to give clients, e.g. `http://127.0.0.1:54321` (no trailing slash, no `/v0`). */
  url: string;
  token: string;
  port: number;
  /** Ids of the seeded bases, in seed order. */
  baseIds: string[];
  stats(): SandboxStats;
  /** Back to the seed data, zeroed stats, no faults. */
  reset(): void;
  setFaults(faults: SandboxFaultOptions | undefined): void;
  stop(): Promise<void>;
}
