/**
 * `WebSocketStream`, the streams-based client Chromium ships (and the WHATWG
 * draft describes), over a wavesock {@link Connection} in event mode, and
 * its `WebSocketError`.
 *
 * Theory of operation:
 * - `opened` resolves with a `ReadableStream` of messages (strings and
 *   `ArrayBuffer`s) and a `WritableStream` that sends what is written;
 *   `closed` resolves with the close code and reason of a clean close and
 *   rejects with a `WebSocketError` (1006) otherwise. Both are marked as
 *   handled: in Node an unhandled rejection ends the process, and a program
 *   that never looks at `closed` must not die of a dropped connection.
 * - Reading is pulled: the readable stream holds at most `maxQueue`
 *   messages (16); when it is full the connection stops handing messages
 *   over (`pauseMessages`), its input waits undecoded and then the socket
 *   stops being read, so TCP holds the peer back. `pull()` resumes.
 * - Writing waits: a write resolves at once while the socket's write buffer
 *   is under 64 KiB, else once its message has been handed to the OS.
 * - Closing: `close()`, the writer's `close()` (which resolves when the
 *   connection is closed), `abort()` of the writable and `cancel()` of the
 *   readable start the closing handshake — with the `closeCode` and
 *   `reason` of a `WebSocketError` given to `abort`/`cancel`, else none.
 *   Once the closing handshake started, writes reject with an
 *   `InvalidStateError`. A connection that ends uncleanly errors the
 *   readable once the messages received before are read.
 */
import { Buffer } from "node:buffer";
import { types } from "node:util";
import { argumentError } from "../errors.js";
import { connect } from "../node/client.js";
import type { Connection } from "../node/connection.js";
import type { Data } from "../node/connection-types.js";
import { closeInfoArguments, domException, isIterableObject, parseWebSocketURL, protocolList, toUSVString, type WebSocketCloseInit, type CloseRequest } from "./arguments.js";
import { connectOptionsFor, validateStreamOptions, type WebSocketStreamOptions } from "./options.js";

/** A write resolves at once while the socket's write buffer holds at most this many bytes. */
const WRITE_HIGH_WATER_MARK = 64 * 1024;

/** What `WebSocketStream.opened` resolves with. */
export interface WebSocketOpenInfo {
  /** The messages received: a string for text, an `ArrayBuffer` for binary. */
  readable: ReadableStream<string | ArrayBuffer>;
  /** Where to write messages: strings (text), `ArrayBuffer`s and views (binary). */
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  /** The extensions the server accepted, or "". */
  extensions: string;
  /** The subprotocol the server chose, or "". */
  protocol: string;
}

/** What `WebSocketStream.closed` resolves with: the close frame received. */
export interface WebSocketCloseInfo {
  /** The close code received (1005 when the close frame had none). */
  closeCode: number;
  /** The close reason received. */
  reason: string;
}

/** Set by WebSocketError's static block (declared first: the block runs as the class is defined). */
let closeError: (message: string, closeCode: number | null) => WebSocketError;

/**
 * Chromium's `WebSocketError`: a `DOMException` (name "WebSocketError")
 * with the `closeCode` and `reason` of a close. `WebSocketStream` rejects
 * `opened` and `closed` with one (`closeCode` 1006 when the connection did
 * not close cleanly, null when it never opened), and one given to the
 * writable's `abort()` or the readable's `cancel()` closes the connection
 * with its code and reason. Exported by wavesock as `WebSocketStreamError`
 * (`WebSocketError` is wavesock's own base error class).
 */
export class WebSocketError extends DOMException {
  #closeCode: number | null;
  #reason: string;

  static {
    // How this module makes the errors it rejects with: with 1006, which the
    // constructor refuses (the application may not send it).
    closeError = (message, closeCode) => {
      const err = new WebSocketError(message);
      err.#closeCode = closeCode;
      return err;
    };
  }

  /**
   * An error with `message` and, optionally, a close code (1000 or
   * 3000–4999: else an `InvalidAccessError`) and a reason (at most 123
   * bytes of UTF-8: else a `SyntaxError`); a reason without a code means
   * 1000.
   */
  constructor(message: string = "", init: WebSocketCloseInit = {}) {
    super(String(message), "WebSocketError");
    const request = closeInfoArguments("new WebSocketError(message, init)", init);
    this.#closeCode = request.code ?? null;
    this.#reason = request.reason;
  }

  /** The close code, or null. */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The close reason, or "". */
  get reason(): string {
    return this.#reason;
  }
}

function noop(): void {}

/**
 * The streams-based WebSocket client Chromium ships: `opened` gives a
 * readable and a writable stream with real backpressure both ways.
 *
 * ```ts
 * import { WebSocketStream } from "wavesock";
 *
 * const wss = new WebSocketStream("ws://127.0.0.1:8765/", { protocols: ["chat.v1"] });
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * for await (const message of readable) console.log(message);
 * const { closeCode, reason } = await wss.closed;
 * ```
 *
 * Node extras (headers, TLS, compression, `maxSize`...) and `maxQueue` (the
 * readable's high water mark) go in the options with `protocols` and
 * `signal`.
 */
export class WebSocketStream {
  readonly #url: string;
  readonly #opened: Promise<WebSocketOpenInfo>;
  readonly #closed: Promise<WebSocketCloseInfo>;
  readonly #maxQueue: number;
  #resolveOpened!: (info: WebSocketOpenInfo) => void;
  #rejectOpened!: (err: unknown) => void;
  #resolveClosed!: (info: WebSocketCloseInfo) => void;
  #rejectClosed!: (err: unknown) => void;
  #state: "connecting" | "open" | "closed" = "connecting";
  #conn: Connection | null = null;
  #opening: AbortController | null = null;
  #signal: AbortSignal | null = null;
  #readable: ReadableStreamDefaultController<string | ArrayBuffer> | null = null;
  #writable: WritableStreamDefaultController | null = null;
  /** The writer's close() started the close: the writable closes, it is not errored. */
  #writerClosing = false;
  /** The readable's error, held until the messages before it are read. */
  #readError: unknown = null;

  /**
   * Open a connection to `url` (`ws:`, `wss:`, `http:` or `https:`).
   * Throws a `SyntaxError` `DOMException` for a URL that is not absolute,
   * has another scheme or a fragment, or a subprotocol that is not a token
   * or is offered twice; a `TypeError` for options that are not an object
   * or protocols that are not a list, and a `TypeError` / `RangeError`
   * (code `WS_ERR_INVALID_OPTION`) for a Node extra that is not allowed.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    const where = "new WebSocketStream(url, options)";
    const parsed = parseWebSocketURL(where, url);
    if (options === null) options = {};
    if (typeof options !== "object" && typeof options !== "function") {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where}: options must be an object { protocols, signal }; got ${typeof options}`);
    }
    const { protocols, signal } = options;
    if (protocols !== undefined && !isIterableObject(protocols)) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where}: options.protocols must be a list of strings, such as ["chat.v1"]; got ${typeof protocols}`);
    }
    const list = protocolList(where, protocols);
    validateStreamOptions(options);
    this.#url = parsed.href;
    this.#maxQueue = options.maxQueue ?? 16;
    this.#opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#opened.catch(noop);
    this.#closed.catch(noop);
    if (signal?.aborted) {
      this.#abandon(abortError());
      return;
    }
    const opening = new AbortController();
    this.#opening = opening;
    if (signal !== undefined && signal !== null) {
      this.#signal = signal;
      signal.addEventListener("abort", this.#onAbort);
    }
    connect(this.#url, connectOptionsFor(options, list, opening.signal)).then(
      (conn) => this.#onOpen(conn, list),
      (err: unknown) => this.#onOpenFailed(err),
    );
  }

  /** The URL, as parsed (with `ws:` / `wss:` for `http:` / `https:`). */
  get url(): string {
    return this.#url;
  }

  /** Resolves once the connection is open; rejects with a `WebSocketError` (or an `AbortError`) when it cannot be. */
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened;
  }

  /** Resolves with the close code and reason of a clean close; rejects with a `WebSocketError` (closeCode 1006) otherwise. */
  get closed(): Promise<WebSocketCloseInfo> {
    return this.#closed;
  }

  /**
   * Start the closing handshake with `closeCode` (1000 or 3000–4999: else
   * an `InvalidAccessError`) and `reason` (at most 123 bytes of UTF-8: else
   * a `SyntaxError`); with neither the close frame is empty (the peer sees
   * 1005). While connecting, the opening is abandoned.
   */
  close(closeInfo?: WebSocketCloseInit): void {
    const request = closeInfoArguments("WebSocketStream.close(closeInfo)", closeInfo);
    if (this.#state === "connecting") {
      this.#opening?.abort(domException("AbortError", "WebSocketStream.close() was called before the connection was established"));
    } else if (this.#state === "open") {
      this.#startClose(request);
    }
  }

  /** "WebSocketStream", as in browsers. */
  get [Symbol.toStringTag](): string {
    return "WebSocketStream";
  }

  // ---------------------------------------------------------------- opening

  readonly #onAbort = (): void => {
    if (this.#state === "connecting") this.#opening?.abort(abortError());
  };

  #releaseSignal(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#signal = null;
  }

  /**
   * The opening failed or was abandoned: `opened` rejects with `err`,
   * `closed` with a 1006 — or both with the `AbortError` of the signal.
   */
  #abandon(err: unknown): void {
    this.#state = "closed";
    this.#opening = null;
    this.#releaseSignal();
    this.#rejectOpened(err);
    const aborted = err instanceof DOMException && err.name === "AbortError";
    this.#rejectClosed(aborted ? err : closeError("the WebSocket was not closed cleanly: it never opened", 1006));
  }

  #onOpenFailed(err: unknown): void {
    this.#abandon(this.#signal?.aborted ? abortError() : notOpened(err));
  }

  #onOpen(conn: Connection, offered: string[]): void {
    this.#opening = null;
    if (this.#state !== "connecting") {
      conn.abort();
      return;
    }
    if (this.#signal?.aborted) {
      conn.abort();
      this.#abandon(abortError());
      return;
    }
    if (offered.length > 0 && conn.subprotocol === null) {
      conn.abort();
      this.#abandon(notOpened(`the server chose none of the subprotocols offered (${offered.join(", ")})`));
      return;
    }
    this.#releaseSignal();
    this.#state = "open";
    this.#conn = conn;
    const readable = new ReadableStream<string | ArrayBuffer>(
      {
        start: (controller) => {
          this.#readable = controller;
        },
        pull: (controller) => {
          if (this.#readError !== null) {
            if (controller.desiredSize === this.#maxQueue) controller.error(this.#readError);
          } else {
            conn.pauseMessages(false);
          }
        },
        cancel: (reason) => this.#closeFromStream(reason),
      },
      { highWaterMark: this.#maxQueue, size: () => 1 },
    );
    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>(
      {
        start: (controller) => {
          this.#writable = controller;
        },
        write: (chunk) => this.#write(conn, chunk),
        close: () => {
          this.#writerClosing = true;
          this.#startClose({ code: undefined, reason: "" });
          return this.#closed.then(noop);
        },
        abort: (reason) => this.#closeFromStream(reason),
      },
      { highWaterMark: 1 },
    );
    this.#resolveOpened({
      readable,
      writable,
      extensions: conn.response.headers["sec-websocket-extensions"] ?? "",
      protocol: conn.subprotocol ?? "",
    });
    conn.listen({
      message: (data) => this.#receive(conn, data),
      closing: () => this.#closing(),
      closed: () => this.#onClosed(conn),
    });
  }

  // -------------------------------------------------------------- receiving

  #receive(conn: Connection, data: Data): void {
    const c = this.#readable!;
    const chunk = typeof data === "string" ? data : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    try {
      c.enqueue(chunk);
    } catch {
      // The readable was cancelled: nobody reads any more.
      return;
    }
    // Full: stop taking messages until the reader pulls.
    if ((c.desiredSize ?? 0) <= 0) conn.pauseMessages(true);
  }

  // ---------------------------------------------------------------- sending

  #write(conn: Connection, chunk: unknown): Promise<void> | void {
    if (conn.core.state !== "open") throw writeAfterClose();
    let message: string | Uint8Array;
    if (ArrayBuffer.isView(chunk)) message = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (types.isArrayBuffer(chunk)) message = new Uint8Array(chunk);
    else message = toUSVString(chunk);
    if (conn.socket.writableLength + (typeof message === "string" ? Buffer.byteLength(message) : message.length) <= WRITE_HIGH_WATER_MARK) {
      conn.sendNow(message);
      return;
    }
    // Over the high water mark: the write resolves once its bytes are handed to the OS.
    conn.sendNow(message);
    return new Promise((resolve) => conn.whenWritten(() => resolve()));
  }

  // ---------------------------------------------------------------- closing

  /** `cancel(reason)` of the readable, `abort(reason)` of the writable: close with a WebSocketError's code, else none. */
  #closeFromStream(reason: unknown): void {
    if (this.#state !== "open") return;
    if (reason instanceof WebSocketError) this.#startClose({ code: reason.closeCode ?? undefined, reason: reason.reason });
    else this.#startClose({ code: undefined, reason: "" });
  }

  #startClose(request: CloseRequest): void {
    const conn = this.#conn!;
    if (conn.core.state === "open") {
      conn.core.sendClose(request.code, request.reason);
      conn.afterInput();
    }
    this.#closing();
  }

  /** The closing handshake started (either side): writing is over. */
  #closing(): void {
    if (this.#writerClosing) return;
    try {
      this.#writable?.error(writeAfterClose());
    } catch {
      // already errored or closed
    }
  }

  #onClosed(conn: Connection): void {
    this.#state = "closed";
    const { failure, closeRcvd, closeSent } = conn.core;
    const clean = failure === null && closeRcvd !== null && closeSent !== null;
    if (clean) {
      this.#closing();
      try {
        this.#readable?.close();
      } catch {
        // cancelled
      }
      this.#resolveClosed({ closeCode: closeRcvd.code, reason: closeRcvd.reason });
      return;
    }
    const why = failure !== null ? ` (${failure.message})` : closeRcvd === null ? " (no close frame received)" : "";
    const err = closeError(`the WebSocket was not closed cleanly${why}`, 1006);
    // Writes fail with the same error, as in Chromium.
    try {
      this.#writable?.error(err);
    } catch {
      // already errored or closed
    }
    const c = this.#readable;
    // Messages received before the failure are read first.
    if (c !== null && c.desiredSize !== null && c.desiredSize < this.#maxQueue) this.#readError = err;
    else c?.error(err);
    this.#rejectClosed(err);
  }
}

function abortError(): DOMException {
  return domException("AbortError", "the WebSocketStream's signal aborted the opening handshake");
}

function notOpened(cause: unknown): WebSocketError {
  const why = cause instanceof Error || cause instanceof DOMException ? cause.message : String(cause);
  return new WebSocketError(`the WebSocket closed before the opening handshake completed: ${why}`);
}

function writeAfterClose(): DOMException {
  return domException("InvalidStateError", "cannot write to a WebSocketStream whose closing handshake has started");
}
