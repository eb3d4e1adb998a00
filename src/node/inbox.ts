/**
 * A connection's received messages on their way to their readers: the
 * messages waiting to be read, in order, and the readers waiting for a
 * message — `recv()` calls and `recvStreaming()` streams, served in the
 * order they were made. At most one of the two lists is non-empty. How many
 * messages may wait (`maxQueue`) is the connection's business: it asks
 * `room`. A reader that gives up (an aborted `recv`) leaves the line and
 * takes nothing: the next message goes to the next reader, or waits.
 */
import type { Message } from "./recv-options.js";

/** One who waits for a message. */
export interface Reader {
  /** The message for this reader (taken whole). */
  take(message: Message): void;
  /** The connection closed before a message came. */
  fail(err: unknown): void;
  /** True for a `recvStreaming()` stream: it is served by the core streaming its message, not from here. */
  readonly streams: boolean;
}

/** See the module comment. */
export class Inbox {
  private queue: Message[] = [];
  private head = 0;
  private waiters: Reader[] = [];

  /** Messages waiting to be read. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Readers waiting for a message. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** The first reader in line, if any. */
  get next(): Reader | undefined {
    return this.waiters[0];
  }

  /** A message arrived: to the first waiting reader, else to the queue. */
  put(message: Message): void {
    if (this.waiters.length !== 0) this.waiters.shift()!.take(message);
    else this.queue.push(message);
  }

  /** The oldest queued message, or undefined. */
  take(): Message | undefined {
    if (this.head === this.queue.length) return undefined;
    const message = this.queue[this.head]!;
    this.queue[this.head++] = EMPTY;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return message;
  }

  /** Join the line (call when nothing is queued). */
  wait(reader: Reader): void {
    this.waiters.push(reader);
  }

  /** Take the first reader out of the line (the stream the core now streams to). */
  shift(): Reader | undefined {
    return this.waiters.shift();
  }

  /** `reader` gives up: out of the line. False if it was not in it (it was served). */
  leave(reader: Reader): boolean {
    const i = this.waiters.indexOf(reader);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    return true;
  }

  /** Drop every queued message (nobody will read them). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Fail every waiting reader with `err`. */
  rejectWaiters(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.fail(err);
  }
}

const EMPTY: Message = { data: "" };
