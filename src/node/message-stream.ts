/**
 * One message read as it arrives: what `recvStreaming()` returns. An async
 * iterator of the message's pieces (strings for a text message, bytes for a
 * binary one — or as the options ask), convertible to a web
 * `ReadableStream` (or, with `Readable.from(stream)`, a Node stream).
 *
 * The connection reserves the message when `recvStreaming()` is called: a
 * message already received whole comes as one piece; otherwise the core
 * streams it (see `streamed-message.ts`) and its pieces come as the socket
 * delivers them, never reassembled. Pieces wait here up to
 * {@link STREAM_READ_AHEAD} bytes; beyond, the core holds its input raw and,
 * past the connection's read-ahead, the socket stops being read — a reader
 * that does not pull stops the peer (TCP backpressure).
 *
 * Ending early (`break` out of `for await`, `cancel()`, the signal): before
 * any piece was taken, the message is left for the next reader; after, the
 * rest of it is read and dropped (still checked: UTF-8, size).
 */
import { Buffer } from "node:buffer";
import { ReadableStream } from "node:stream/web";
import type { Reader } from "./inbox.js";
import { asBinary, convertMessage, type Message, type StreamOptions } from "./recv-options.js";

/** Bytes of pieces that wait for the reader before the core stops decoding. */
export const STREAM_READ_AHEAD = 64 * 1024;

/** The side of a {@link MessageStream} its connection drives. @internal */
export interface StreamEnd extends Reader {
  /** The size limit of this message (undefined: the connection's). */
  readonly maxSize: number | null | undefined;
  /** Bytes the core may still hand over before the stream has enough. */
  readonly room: number;
  /** True once the last piece arrived, or the stream failed or was given up. */
  readonly settled: boolean;
  /** A piece of the message (`fin` on the last). */
  piece(data: Uint8Array | string, text: boolean, fin: boolean): void;
}

/** What a {@link MessageStream} needs from its connection. @internal */
export interface StreamOwner {
  /** The reader took pieces: there is room again. */
  streamPulled(stream: StreamEnd): void;
  /** The reader gave up on the message. */
  streamCancelled(stream: StreamEnd): void;
}

type Pull<T> = { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A message read piece by piece; see the module comment. */
export class MessageStream<T> implements AsyncIterableIterator<T> {
  /** @internal Reader: served by the core streaming its message. */
  readonly streams = true;
  /** @internal The size limit of this message (undefined: the connection's). */
  readonly maxSize: number | null | undefined;
  private readonly owner: StreamOwner;
  private readonly options: StreamOptions;
  private pieces: { data: Uint8Array | string; text: boolean }[] = [];
  private bytes = 0;
  private pulls: Pull<T>[] = [];
  /** The last piece is here (or was taken). */
  private complete = false;
  /** The reader took a piece. */
  private started = false;
  private kind: "text" | "binary" | null = null;
  private error: unknown = null;
  private cancelled = false;
  private abortListener: (() => void) | null = null;
  private serving = false;

  /** @internal Made by `Connection.recvStreaming`. */
  constructor(owner: StreamOwner, options: StreamOptions = {}) {
    this.owner = owner;
    this.options = options;
    this.maxSize = options.maxSize;
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.error = signal.reason;
      else {
        this.abortListener = () => this.abort(signal.reason);
        signal.addEventListener("abort", this.abortListener, { once: true });
      }
    }
  }

  /** "text" or "binary" once the message began arriving; null before. */
  get type(): "text" | "binary" | null {
    return this.kind;
  }

  /** @internal True when the reader gave up (the rest of the message is dropped). */
  get dropping(): boolean {
    return this.cancelled || this.error !== null;
  }

  /** @internal True once the message's last piece arrived, or the stream failed or was given up. */
  get settled(): boolean {
    return this.complete || this.error !== null || this.cancelled;
  }

  /** @internal Bytes the core may still hand over before this stream has enough. */
  get room(): number {
    return this.dropping ? Infinity : STREAM_READ_AHEAD - this.bytes;
  }

  // ------------------------------------------------------ from the connection

  /** @internal Reader: a message received whole, as one piece. */
  take(message: Message): void {
    const text = typeof message.data === "string" || message.text === true;
    this.piece(message.data, text, true);
  }

  /** @internal A piece of the streamed message. */
  piece(data: Uint8Array | string, text: boolean, fin: boolean): void {
    if (this.complete) return;
    this.kind ??= text ? "text" : "binary";
    if (fin) {
      this.complete = true;
      this.detach();
    }
    if (this.dropping) return;
    // Empty pieces are passed over, except an empty message's only one.
    if (data.length !== 0 || (fin && !this.started && this.pieces.length === 0)) {
      this.pieces.push({ data, text });
      this.bytes += data.length;
    }
    this.serve();
  }

  /** @internal Reader: the connection closed (or the message was cut off) before the last piece. */
  fail(err: unknown): void {
    if (this.settled) return;
    this.error = err;
    this.detach();
    this.serve();
  }

  // ----------------------------------------------------------- for the reader

  /** The next piece; `done` after the last. Rejects with `ConnectionClosed` if the connection closed before the message ended. */
  next(): Promise<IteratorResult<T>> {
    if (this.pieces.length > 0 && this.pulls.length === 0) {
      let result: IteratorResult<T>;
      try {
        result = this.shift();
      } catch (err) {
        return Promise.reject(err);
      }
      this.pulled();
      return Promise.resolve(result);
    }
    if (this.pieces.length === 0 && this.pulls.length === 0) {
      if (this.error !== null) return Promise.reject(this.error);
      if (this.complete || this.cancelled) return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => {
      this.pulls.push({ resolve, reject });
      this.serve();
    });
  }

  /** Stop reading (what `break` in `for await` calls): see the module comment. */
  return(): Promise<IteratorResult<T>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  /** Give up on the rest of the message: see the module comment. */
  cancel(): void {
    if (this.settled) return;
    this.cancelled = true;
    this.drop();
  }

  /** The stream is its own iterator: `for await (const piece of ws.recvStreaming())`. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The pieces as a web `ReadableStream`, pulled as it is read (its
   * backpressure is this stream's); cancelling it cancels this stream.
   */
  toReadableStream(): ReadableStream<T> {
    return new ReadableStream<T>(
      {
        pull: async (controller) => {
          const r = await this.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        },
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Read the whole message into one value (as `recv()` with these options
   * would return it). For a message you did decide to read whole after all.
   */
  async collect(): Promise<T> {
    const parts: unknown[] = [];
    for await (const part of this) parts.push(part);
    if (this.kind === "text" && this.options.text !== "bytes") return (parts as string[]).join("") as T;
    const bytes = Buffer.concat(parts.map((p) => (p instanceof ArrayBuffer ? new Uint8Array(p) : (p as Uint8Array))));
    return asBinary(bytes, this.options.binary) as T;
  }

  // ---------------------------------------------------------------- internals

  private abort(reason: unknown): void {
    if (this.settled) return;
    this.error = reason;
    this.drop();
  }

  /** The reader gave up: drop what waits, tell the connection (which leaves the message or reads the rest away). */
  private drop(): void {
    this.detach();
    this.pieces = [];
    this.bytes = 0;
    this.serve();
    this.owner.streamCancelled(this);
  }

  private shift(): IteratorResult<T> {
    const p = this.pieces.shift()!;
    this.bytes -= p.data.length;
    this.started = true;
    return { done: false, value: convertMessage(p.data, p.text, this.options) as T };
  }

  /** Pieces were taken: the connection may hand over more (after this object is done answering). */
  private pulled(): void {
    if (!this.complete && !this.dropping) this.owner.streamPulled(this);
  }

  /** Answer waiting `next()` calls from what is here. */
  private serve(): void {
    if (this.serving) return;
    this.serving = true;
    let took = false;
    try {
      while (this.pulls.length > 0) {
        if (this.pieces.length > 0) {
          const pull = this.pulls.shift()!;
          took = true;
          let result: IteratorResult<T>;
          try {
            result = this.shift();
          } catch (err) {
            pull.reject(err);
            continue;
          }
          pull.resolve(result);
        } else if (this.error !== null) {
          for (const p of this.pulls.splice(0)) p.reject(this.error);
        } else if (this.complete || this.cancelled) {
          for (const p of this.pulls.splice(0)) p.resolve(DONE);
        } else {
          break;
        }
      }
    } finally {
      this.serving = false;
    }
    if (took) this.pulled();
  }

  private detach(): void {
    if (this.abortListener !== null) {
      this.options.signal?.removeEventListener("abort", this.abortListener);
      this.abortListener = null;
    }
  }
}
