/**
 * A connection's received messages on their way to `recv()`: the messages
 * waiting to be read, in order, and the `recv()` calls waiting for a message.
 * At most one of the two lists is non-empty. How many messages may wait
 * (`maxQueue`) is the connection's business: it asks `room`.
 */

/** A message as `recv()` returns it. */
type Message = string | Uint8Array;
/** A waiting `recv()` (or, with `iteration`, an async iterator's `next()`, settled with iterator results). */
type Waiter = { resolve: (value: unknown) => void; reject: (err: unknown) => void; iteration: boolean };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** See the module comment. */
export class Inbox {
  // Both lists are made on first use and dropped once empty: an idle
  // connection (or one whose messages go to a listener) keeps neither.
  private queue: Message[] | null = null;
  private head = 0;
  private waiters: Waiter[] | null = null;

  /** Messages waiting to be read. */
  get queued(): number {
    return this.queue === null ? 0 : this.queue.length - this.head;
  }

  /** `recv()` calls waiting for a message. */
  get waiting(): number {
    return this.waiters === null ? 0 : this.waiters.length;
  }

  /** A message arrived: to the oldest waiting `recv()`, else to the queue. */
  put(message: Message): void {
    const waiters = this.waiters;
    if (waiters !== null) {
      const w = waiters.shift()!;
      if (waiters.length === 0) this.waiters = null;
      w.resolve(w.iteration ? { done: false, value: message } : message);
    } else if (this.queue === null) this.queue = [message];
    else this.queue.push(message);
  }

  /** The oldest queued message, or undefined. */
  take(): Message | undefined {
    const queue = this.queue;
    if (queue === null) return undefined;
    const message = queue[this.head]!;
    queue[this.head++] = "";
    if (this.head === queue.length) {
      this.queue = null;
      this.head = 0;
    }
    return message;
  }

  /** A promise for the next message (call when nothing is queued); with `iteration`, for its iterator result. */
  wait(iteration: boolean): Promise<Message | IteratorResult<Message, undefined>> {
    return new Promise((resolve, reject) =>
      (this.waiters ??= []).push({ resolve: resolve as (value: unknown) => void, reject, iteration }),
    );
  }

  /** Drop every queued message (nobody will read them). */
  clear(): void {
    this.queue = null;
    this.head = 0;
  }

  /** Fail every waiting `recv()` with `err`; `endsIteration` (a normal close): iterators end instead. */
  rejectWaiters(err: unknown, endsIteration: boolean): void {
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters === null) return;
    for (const w of waiters) {
      if (w.iteration && endsIteration) w.resolve(DONE);
      else w.reject(err);
    }
  }
}
