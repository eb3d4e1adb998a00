/**
 * A connection's received messages on their way to `recv()`: the messages
 * waiting to be read, in order, and the `recv()` calls waiting for a message.
 * At most one of the two lists is non-empty. How many messages may wait
 * (`maxQueue`) is the connection's business: it asks `room`.
 */

/** A message as `recv()` returns it. */
type Message = string | Uint8Array;
type Waiter = { resolve: (value: Message) => void; reject: (err: unknown) => void };

/** See the module comment. */
export class Inbox {
  private queue: Message[] = [];
  private head = 0;
  private waiters: Waiter[] = [];

  /** Messages waiting to be read. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** `recv()` calls waiting for a message. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** A message arrived: to the oldest waiting `recv()`, else to the queue. */
  put(message: Message): void {
    if (this.waiters.length !== 0) this.waiters.shift()!.resolve(message);
    else this.queue.push(message);
  }

  /** The oldest queued message, or undefined. */
  take(): Message | undefined {
    if (this.head === this.queue.length) return undefined;
    const message = this.queue[this.head]!;
    this.queue[this.head++] = "";
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return message;
  }

  /** A promise for the next message (call when nothing is queued). */
  wait(): Promise<Message> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Drop every queued message (nobody will read them). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Fail every waiting `recv()` with `err`. */
  rejectWaiters(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
