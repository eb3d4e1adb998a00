/**
 * A connection's received messages on their way to their readers: the
 * messages waiting to be read, in order, and the readers waiting for a
 * message — `recv()` calls and `recvStreaming()` streams, served in the
 * order they were made. At most one of the two lists is non-empty. How many
 * messages may wait (`maxQueue`) is the connection's business: it asks
 * `room`. A reader that gives up (an aborted `recv`) leaves the line and
 * takes nothing: the next message goes to the next reader, or waits. The
 * readers: {@link RecvReader} (`recv()`), {@link IterReader} (`for await`);
 * streams are in ./message-stream.ts.
 */
import { ConnectionClosedOK } from "../errors.js";
import type { Data } from "./connection-types.js";
import { convertMessage, type Message, type RecvOptions } from "./recv-options.js";

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
  // Shared empty lists until used: an idle connection keeps no array.
  private queue: Message[] = NO_MESSAGES;
  private head = 0;
  private waiters: Reader[] = NO_READERS;

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
    else if (this.queue === NO_MESSAGES) this.queue = [message];
    else this.queue.push(message);
  }

  /** The oldest queued message, or undefined. */
  take(): Message | undefined {
    if (this.head === this.queue.length) return undefined;
    const message = this.queue[this.head]!;
    this.queue[this.head++] = EMPTY;
    if (this.head === this.queue.length) {
      this.queue = NO_MESSAGES;
      this.head = 0;
    }
    return message;
  }

  /** Join the line (call when nothing is queued). */
  wait(reader: Reader): void {
    if (this.waiters === NO_READERS) this.waiters = [reader];
    else this.waiters.push(reader);
  }

  /** Take the first reader out of the line (the stream the core now streams to). */
  shift(): Reader | undefined {
    return this.waiters.length === 0 ? undefined : this.waiters.shift();
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
    this.queue = NO_MESSAGES;
    this.head = 0;
  }

  /** Fail every waiting reader with `err`. */
  rejectWaiters(err: unknown): void {
    const waiters = this.waiters;
    this.waiters = NO_READERS;
    for (const w of waiters) w.fail(err);
  }
}

/** A waiting `recv()`: resolved with the message as its options ask, or rejected (closed, aborted). */
export class RecvReader implements Reader {
  readonly streams = false;
  private readonly options: RecvOptions | undefined;
  private readonly resolve: (value: unknown) => void;
  private readonly reject: (err: unknown) => void;
  private readonly inbox: Inbox;
  private onAbort: (() => void) | null = null;

  constructor(inbox: Inbox, options: RecvOptions | undefined, resolve: (value: unknown) => void, reject: (err: unknown) => void) {
    this.inbox = inbox;
    this.options = options;
    this.resolve = resolve;
    this.reject = reject;
    const signal = options?.signal;
    if (signal !== undefined) {
      // Leaving the line takes nothing: a message that comes later goes to the next reader.
      this.onAbort = () => {
        if (this.inbox.leave(this)) reject(signal.reason);
      };
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  take(message: Message): void {
    this.detach();
    let value: unknown;
    try {
      value = convertMessage(message.data, message.text === true, this.options);
    } catch (err) {
      this.reject(err);
      return;
    }
    this.resolve(value);
  }

  fail(err: unknown): void {
    this.detach();
    this.reject(err);
  }

  private detach(): void {
    if (this.onAbort !== null) this.options!.signal!.removeEventListener("abort", this.onAbort);
  }
}

/** The iterator result after the last message. @internal */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** An iterator result for a message. @internal */
export function iterResult(value: Data): IteratorYieldResult<Data> {
  return { done: false, value };
}

/** The iterator's end: done after a normal close, the error otherwise. @internal */
export function iterEnd(err: unknown): Promise<IteratorResult<Data>> {
  return err instanceof ConnectionClosedOK ? Promise.resolve(DONE) : Promise.reject(err);
}

/**
 * A waiting step of `for await (const message of connection)`: resolved
 * with the iterator result itself (done after a normal close), so that a
 * step is one promise.
 */
export class IterReader implements Reader {
  readonly streams = false;
  constructor(
    private readonly resolve: (result: IteratorResult<Data>) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  take(message: Message): void {
    let value: Data;
    try {
      value = convertMessage(message.data, message.text === true, undefined) as Data;
    } catch (err) {
      this.reject(err);
      return;
    }
    this.resolve(iterResult(value));
  }

  fail(err: unknown): void {
    if (err instanceof ConnectionClosedOK) this.resolve(DONE);
    else this.reject(err);
  }
}

const EMPTY: Message = { data: "" };
// Frozen: a push onto a shared sentinel would be a bug, and throws instead.
const NO_MESSAGES = Object.freeze([]) as unknown as Message[];
const NO_READERS = Object.freeze([]) as unknown as Reader[];
