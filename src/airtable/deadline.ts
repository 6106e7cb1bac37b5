/**
 * A signal that aborts when its parent does or when `ms` pass, whichever comes
 * first, and that is disposed of when the work is done (timer cleared,
 * listener removed). It replaces AbortSignal.timeout + AbortSignal.any, which
 * cost about 30 µs each on Node 20 (measured: 59 µs for the two pairs a
 * request used, against 2 µs for controllers and timers): a few per cent of a
 * two-millisecond tool call.
 */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #parent: AbortSignal | undefined;
  #timedOut = false;

  constructor(ms: number, parent?: AbortSignal) {
    this.#parent = parent;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    }, ms);
    // Like AbortSignal.timeout: a pending deadline never keeps the process alive.
    this.#timer.unref?.();
    if (parent?.aborted) this.#controller.abort(parent.reason);
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  readonly #onParentAbort = (): void => {
    this.#controller.abort(this.#parent?.reason);
  };

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True when this deadline's own time ran out (not the parent's). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}
