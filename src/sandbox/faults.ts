/**
 * Fault injection: scripted outcomes (`sequence`, one per request) first, then per-status probabilities
 * from a seeded PRNG, plus added latency. Only requests under `pathPrefix` are affected.
 */
import type { FaultStep, SandboxFaultOptions } from './options.js';

export interface FaultDecision {
  latencyMs: number;
  step: FaultStep;
}

const RATE_ORDER = [429, 500, 502, 503, 'drop'] as const;

/** mulberry32: small, fast and repeatable for a given seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private options: SandboxFaultOptions | undefined;
  private sequence: FaultStep[] = [];
  private random: () => number = Math.random;

  constructor(options?: SandboxFaultOptions) {
    this.set(options);
  }

  set(options: SandboxFaultOptions | undefined): void {
    const empty = !options || Object.keys(options).length === 0;
    this.options = empty ? undefined : structuredClone(options);
    this.sequence = [...(this.options?.sequence ?? [])];
    const seed = this.options?.seed;
    this.random = seed === undefined ? Math.random : mulberry32(seed);
  }

  current(): SandboxFaultOptions | undefined {
    return this.options && structuredClone(this.options);
  }

  get retryAfterSeconds(): number | undefined {
    return this.options?.retryAfterSeconds;
  }

  /** What to do with a request to `path`; undefined when faults are off or the path is not targeted. */
  decide(path: string): FaultDecision | undefined {
    const o = this.options;
    if (!o || (o.pathPrefix && !path.startsWith(o.pathPrefix))) return undefined;
    const jitter = o.latencyJitterMs ? this.random() * o.latencyJitterMs : 0;
    const latencyMs = (o.latencyMs ?? 0) + jitter;
    const scripted = this.sequence.shift();
    return { latencyMs, step: scripted ?? this.roll(o) };
  }

  private roll(o: SandboxFaultOptions): FaultStep {
    if (!o.rates) return 'ok';
    const r = this.random();
    let acc = 0;
    for (const status of RATE_ORDER) {
      acc += o.rates[status] ?? 0;
      if (r < acc) return status;
    }
    return 'ok';
  }
}
