/**
 * A running chat turn, seen two ways: its result (`await turn.result`) and
 * its events as they happen (`for await (const event of turn)`). Events are buffered, so a consumer
 * that starts iterating late still sees all of them.
 */
import { HttpProblem } from '../app/api.js';
import type { ChatEvent, ChatResult, EmitEvent } from './types.js';

export class ChatTurn implements AsyncIterable<ChatEvent> {
  readonly result: Promise<ChatResult>;
  readonly #events: ChatEvent[] = [];
  readonly #waiters: (() => void)[] = [];
  #closed = false;

  constructor(run: (emit: EmitEvent) => Promise<ChatResult>) {
    const emit: EmitEvent = (event) => this.#push(event);
    this.result = Promise.resolve()
      .then(() => run(emit))
      .then(
        (result) => {
          this.#push({ type: 'done', result });
          this.#close();
          return result;
        },
        (error: unknown) => {
          this.#push(errorEvent(error));
          this.#close();
          throw error;
        },
      );
    // A consumer that only iterates must not get an unhandled rejection: the error is also an event.
    this.result.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    let index = 0;
    for (;;) {
      while (index < this.#events.length) yield this.#events[index++]!;
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #push(event: ChatEvent): void {
    if (this.#closed) return;
    this.#events.push(event);
    this.#notify();
  }

  #close(): void {
    this.#closed = true;
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export function errorEvent(error: unknown): ChatEvent {
  if (error instanceof HttpProblem) {
    return { type: 'error', status: error.status, title: error.title, detail: error.detail ?? error.title };
  }
  return {
    type: 'error',
    status: 500,
    title: 'Internal Server Error',
    detail: 'The chat turn failed unexpectedly.',
  };
}
