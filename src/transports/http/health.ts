/**
 * Health reporting for HTTP mode.
 *
 * Component checks run in the background and the handler serves the last
 * results, so a health probe never waits on Airtable: orchestrators probe
 * often and with short timeouts, and a slow upstream must not turn into
 * failed probes (or into probe traffic against Airtable's rate limits).
 */
import type { RequestHandler } from 'express';
import type { AirtableClient } from '../../airtable/client.js';

export interface ComponentCheck {
  name: string;
  /** Resolves when the component is up; throws (or rejects) when it is down. Should honour `signal`. */
  check(signal: AbortSignal): Promise<void>;
  /** A critical component being down makes the whole service 'down' (HTTP 503). */
  critical: boolean;
}

export interface ComponentStatus {
  status: 'ok' | 'down' | 'unknown';
  latencyMs?: number;
  checkedAt?: string;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  version: string;
  uptimeSeconds: number;
  components: Record<string, ComponentStatus>;
}

export interface HealthMonitorOptions {
  version: string;
  components: ComponentCheck[];
  /** Default 30 000. */
  intervalMs?: number;
  /** Per check; default 5 000. A check still running after this counts as down. */
  timeoutMs?: number;
}

const MAX_ERROR_LENGTH = 300;

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/** Settles with the check, or rejects at the timeout even if the check ignores its signal. */
function withTimeout(run: (signal: AbortSignal) => Promise<void>, controller: AbortController, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`check timed out after ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  return Promise.race([Promise.resolve().then(() => run(controller.signal)), timeout, stopped]).finally(() =>
    clearTimeout(timer),
  );
}

export class HealthMonitor {
  readonly #version: string;
  readonly #components: ComponentCheck[];
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #startedAt = Date.now();
  readonly #results = new Map<string, ComponentStatus>();
  /** Checks still running, so a hung check is not started again on top of itself. */
  readonly #running = new Map<string, AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #serving = true;

  constructor(options: HealthMonitorOptions) {
    this.#version = options.version;
    this.#components = options.components;
    this.#intervalMs = options.intervalMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    for (const c of this.#components) this.#results.set(c.name, { status: 'unknown' });
  }

  /** Checks at once, then every intervalMs; the timer is unref'd so it never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#checkAll(), this.#intervalMs);
    this.#timer.unref();
    this.#checkAll();
  }

  /** Stops the timer and aborts checks in flight. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#running.values()) controller.abort(new Error('health monitor stopped'));
  }

  /** False while shutting down: the report says 'down' so load balancers stop routing here. */
  setServing(serving: boolean): void {
    this.#serving = serving;
  }

  /** Runs every check once now; resolves when all have settled (for tests and readiness at boot). */
  async checkNow(): Promise<void> {
    await Promise.all(this.#components.map((c) => this.#checkOne(c)));
  }

  report(): HealthReport {
    const components: Record<string, ComponentStatus> = {};
    for (const [name, result] of this.#results) components[name] = { ...result };
    return {
      status: this.#overall(),
      version: this.#version,
      uptimeSeconds: Math.floor((Date.now() - this.#startedAt) / 1000),
      components,
    };
  }

  /** 200 for ok/degraded, 503 for down; the body is the cached report. */
  handler(): RequestHandler {
    return (_req, res) => {
      const report = this.report();
      res
        .status(report.status === 'down' ? 503 : 200)
        .set('Cache-Control', 'no-store')
        .json(report);
    };
  }

  /** 'unknown' (not checked yet) counts as up: a fresh replica should not be reported down before its first check. */
  #overall(): HealthReport['status'] {
    if (!this.#serving) return 'down';
    let degraded = false;
    for (const c of this.#components) {
      if (this.#results.get(c.name)?.status !== 'down') continue;
      if (c.critical) return 'down';
      degraded = true;
    }
    return degraded ? 'degraded' : 'ok';
  }

  #checkAll(): void {
    for (const c of this.#components) void this.#checkOne(c);
  }

  /** Never rejects: a failing check becomes a 'down' result. */
  async #checkOne(component: ComponentCheck): Promise<void> {
    if (this.#running.has(component.name)) return;
    const controller = new AbortController();
    this.#running.set(component.name, controller);
    const started = performance.now();
    let result: ComponentStatus;
    try {
      await withTimeout((signal) => component.check(signal), controller, this.#timeoutMs);
      result = { status: 'ok' };
    } catch (err) {
      result = { status: 'down', error: errorText(err) };
    } finally {
      this.#running.delete(component.name);
    }
    result.latencyMs = Math.round(performance.now() - started);
    result.checkedAt = new Date().toISOString();
    this.#results.set(component.name, result);
  }
}

/**
 * Airtable reachability and token validity via whoami.
 *
 * Not critical on purpose: the health endpoint doubles as a liveness or
 * readiness probe, and an Airtable outage (or an expired token) is not
 * something restarting or unrouting this replica can fix. Marking it
 * critical would let an upstream incident make orchestrators kill every
 * replica at once; instead the service reports 'degraded' with HTTP 200.
 */
export function airtableCheck(client: AirtableClient, options: { timeoutMs?: number } = {}): ComponentCheck {
  const timeoutMs = options.timeoutMs ?? 4_000;
  return {
    name: 'airtable',
    critical: false,
    async check(signal) {
      // The deadline bounds retries too, so an unreachable Airtable reports its real error, not a timeout.
      await client.whoami({ signal, timeoutMs, deadlineMs: timeoutMs });
    },
  };
}
