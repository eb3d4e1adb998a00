/**
 * The standard `WebSocket` class (the WHATWG WebSockets Standard, as
 * browsers implement it) over a wavesock {@link Connection} in event mode.
 *
 * Theory of operation:
 * - Opening: the constructor checks its arguments (throwing as browsers
 *   do), then `connect()`s with an `AbortSignal` that `close()` aborts while
 *   CONNECTING. A failed opening fires `error` then `close` (1006).
 * - Receiving: the connection hands each message over as it is decoded
 *   (`listen`), and one `message` event is dispatched for it while OPEN —
 *   the standard drops messages that arrive once `close()` was called. The
 *   peer's close frame turns the state CLOSING in order with the messages
 *   (`closing`); the end of the connection fires `error` (only when the
 *   connection was failed: a protocol violation, a message over `maxSize`, a
 *   keepalive timeout) then `close`.
 * - Sending never waits. `bufferedAmount` counts the bytes given to
 *   `send()` that have not left the socket's write buffer (the sends of one
 *   turn of the event loop share a `whenWritten` callback, which takes
 *   their bytes off), and keeps counting — without
 *   sending — once the closing handshake started. A `Blob` is read before
 *   it is sent; while one is being read, later messages and the close frame
 *   wait behind it in `#pending`, so everything goes out in the order of
 *   the calls.
 */
import { Buffer } from "node:buffer";
import { types } from "node:util";
import { InvalidHandshake, argumentError } from "../errors.js";
import { connect } from "../node/client.js";
import type { Connection } from "../node/connection.js";
import type { Data } from "../node/connection-types.js";
import { closeArguments, domException, isIterableObject, parseWebSocketURL, protocolList, toUSVString, type CloseRequest } from "./arguments.js";
import { CloseEvent, ErrorEvent, EventHandlers } from "./events.js";
import { connectOptionsFor, validateWebSocketInit, validateWebSocketOptions, type WebSocketInit, type WebSocketOptions } from "./options.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** How binary messages are given to `message` listeners: a `Blob` (the default) or an `ArrayBuffer`. */
export type BinaryType = "blob" | "arraybuffer";

/** What `WebSocket.send()` takes: text, bytes (any view's bytes, or a buffer's), or a `Blob`. */
export type WebSocketData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** Set by WebSocket's static block: the end of a turn's sends (see `#transmit`). */
let endBatch: (ws: WebSocket, conn: Connection) => void;

/** A message waiting behind a `Blob` being read, or the close frame. */
type Pending = { blob: Blob; size: number } | { data: string | Uint8Array; size: number } | { close: CloseRequest };

/**
 * The WHATWG `WebSocket` client: `new WebSocket(url, protocols)`, then
 * `onopen` / `onmessage` / `onerror` / `onclose` (or `addEventListener`),
 * `send()`, `close()`, `readyState`, `bufferedAmount`, `binaryType`, as in
 * browsers and Node 22's global — on wavesock's connection.
 *
 * ```ts
 * import { WebSocket } from "wavesock";
 *
 * const ws = new WebSocket("ws://127.0.0.1:8765/chat", ["chat.v1"]);
 * ws.binaryType = "arraybuffer";
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (event) => console.log(event.data);
 * ws.onclose = (event) => console.log("closed", event.code, event.reason, event.wasClean);
 * ```
 *
 * Node extras (headers, TLS, compression, limits, timeouts) go in a third
 * argument, or with `protocols` in a dictionary as the second argument (the
 * form of Node's built-in client): `new WebSocket(url, { protocols,
 * headers })`. See docs/standard-websocket.md for what differs from a
 * browser.
 */
export class WebSocket extends EventTarget {
  /** The connection has not yet been established. */
  static readonly CONNECTING = 0;
  /** The connection is established and communication is possible. */
  static readonly OPEN = 1;
  /** The closing handshake is under way, or `close()` was called. */
  static readonly CLOSING = 2;
  /** The connection is closed, or could not be opened. */
  static readonly CLOSED = 3;
  /** 0: the connection has not yet been established. */
  declare readonly CONNECTING: 0;
  /** 1: the connection is established. */
  declare readonly OPEN: 1;
  /** 2: the closing handshake is under way. */
  declare readonly CLOSING: 2;
  /** 3: the connection is closed. */
  declare readonly CLOSED: 3;

  readonly #url: string;
  readonly #origin: string;
  readonly #handlers = new EventHandlers(this);
  #state = CONNECTING;
  #binaryType: BinaryType = "blob";
  #conn: Connection | null = null;
  #opening: AbortController | null = null;
  #buffered = 0;
  /** Bytes sent in this turn of the event loop, not yet given to `whenWritten`. */
  #unwritten = 0;
  #protocol = "";
  #extensions = "";
  #pending: Pending[] | null = null;

  /**
   * Open a connection to `url` (`ws:`, `wss:`, or `http:` / `https:`, which
   * mean the same) offering the subprotocols `protocols`. Throws a
   * `SyntaxError` `DOMException` for a URL that is not absolute, has
   * another scheme or a fragment, and for a subprotocol that is not a token
   * or is offered twice; a `TypeError` / `RangeError` (code
   * `WS_ERR_INVALID_OPTION`) for a Node extra that is not allowed. Every
   * other failure comes as an `error` event, then `close`.
   */
  constructor(url: string | URL, protocols?: string | Iterable<string> | WebSocketInit, options?: WebSocketOptions) {
    super();
    const where = "new WebSocket(url, protocols)";
    const parsed = parseWebSocketURL(where, url);
    let init: WebSocketInit = {};
    let offered: unknown = protocols;
    // Node's built-in client also takes a dictionary here; to a browser such
    // an object would be the protocol "[object Object]", a SyntaxError.
    if (typeof protocols === "object" && protocols !== null && !isIterableObject(protocols)) {
      validateWebSocketInit(protocols);
      init = protocols as WebSocketInit;
      offered = init.protocols;
    }
    const list = protocolList(where, offered);
    validateWebSocketOptions(options);
    this.#url = parsed.href;
    this.#origin = parsed.origin;
    const opening = new AbortController();
    this.#opening = opening;
    connect(this.#url, connectOptionsFor({ ...init, ...options }, list, opening.signal)).then(
      (conn) => this.#opened(conn, list),
      (err: unknown) => this.#notOpened(err),
    );
  }

  /** The URL, as parsed (with `ws:` / `wss:` for `http:` / `https:`). */
  get url(): string {
    return this.#url;
  }

  /** `CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): number {
    return this.#state;
  }

  /**
   * Bytes of application data (text as UTF-8) given to `send()` that have
   * not been transmitted yet (handed to the operating system). It includes
   * what is sent in the current turn of the event loop, and once the
   * closing handshake started it keeps growing with each `send()`, which
   * then sends nothing: it does not reset on close.
   */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** The extensions the server accepted (its `Sec-WebSocket-Extensions` header), or "". */
  get extensions(): string {
    return this.#extensions;
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.#protocol;
  }

  /** `"blob"` (the default) or `"arraybuffer"`: what binary messages are. Other values are ignored. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  /** Set to `"blob"` or `"arraybuffer"`; other values are ignored, as the standard says. */
  set binaryType(value: BinaryType) {
    const v = String(value);
    if (v === "blob" || v === "arraybuffer") this.#binaryType = v;
  }

  /** Called with the `open` event (one handler; `addEventListener` for more). */
  get onopen(): ((this: WebSocket, event: Event) => unknown) | null {
    return this.#handlers.get("open") as ((this: WebSocket, event: Event) => unknown) | null;
  }

  /** Set the `open` handler (replacing the last one, in its place among the listeners), or null to remove it. */
  set onopen(handler: ((this: WebSocket, event: Event) => unknown) | null) {
    this.#handlers.set("open", handler);
  }

  /** Called with each `message` event (a `MessageEvent`: `data` is a string, a `Blob` or an `ArrayBuffer`). */
  get onmessage(): ((this: WebSocket, event: MessageEvent) => unknown) | null {
    return this.#handlers.get("message") as ((this: WebSocket, event: MessageEvent) => unknown) | null;
  }

  /** Set the `message` handler (replacing the last one, in its place among the listeners), or null to remove it. */
  set onmessage(handler: ((this: WebSocket, event: MessageEvent) => unknown) | null) {
    this.#handlers.set("message", handler);
  }

  /** Called with the `error` event (an {@link ErrorEvent}), which comes just before `close` when the connection failed. */
  get onerror(): ((this: WebSocket, event: ErrorEvent) => unknown) | null {
    return this.#handlers.get("error") as ((this: WebSocket, event: ErrorEvent) => unknown) | null;
  }

  /** Set the `error` handler (replacing the last one, in its place among the listeners), or null to remove it. */
  set onerror(handler: ((this: WebSocket, event: ErrorEvent) => unknown) | null) {
    this.#handlers.set("error", handler);
  }

  /** Called with the `close` event (a {@link CloseEvent}: `code`, `reason`, `wasClean`). */
  get onclose(): ((this: WebSocket, event: CloseEvent) => unknown) | null {
    return this.#handlers.get("close") as ((this: WebSocket, event: CloseEvent) => unknown) | null;
  }

  /** Set the `close` handler (replacing the last one, in its place among the listeners), or null to remove it. */
  set onclose(handler: ((this: WebSocket, event: CloseEvent) => unknown) | null) {
    this.#handlers.set("close", handler);
  }

  /**
   * Send a message: a string as text; an `ArrayBuffer` or a view's bytes
   * (`Uint8Array`, `Buffer`, `DataView`...) as binary; a `Blob` as binary
   * once read (messages keep the order of the calls); anything else as the
   * text `String(data)`, as Web IDL converts it. Throws an
   * `InvalidStateError` `DOMException` while CONNECTING. Once the closing
   * handshake has started it sends nothing and only adds to
   * `bufferedAmount`.
   */
  send(data: WebSocketData): void {
    if (this.#state === CONNECTING) {
      throw domException("InvalidStateError", "WebSocket.send(): the connection is not open yet (readyState is CONNECTING); wait for the open event");
    }
    let message: string | Uint8Array | Blob;
    let size: number;
    if (typeof data === "string") {
      message = data;
      size = Buffer.byteLength(data, "utf8");
    } else if (ArrayBuffer.isView(data)) {
      if (types.isSharedArrayBuffer(data.buffer)) {
        throw argumentError("WS_ERR_INVALID_ARGUMENT", "WebSocket.send(): a view on a SharedArrayBuffer cannot be sent (Web IDL's BufferSource); copy it first");
      }
      message = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      size = data.byteLength;
    } else if (types.isArrayBuffer(data)) {
      message = new Uint8Array(data);
      size = data.byteLength;
    } else if (typeof Blob === "function" && data instanceof Blob) {
      message = data;
      size = data.size;
    } else {
      message = toUSVString(data);
      size = Buffer.byteLength(message, "utf8");
    }
    this.#buffered += size;
    if (this.#state !== OPEN) return;
    if (this.#pending !== null) {
      // Behind a Blob being read: keep a copy of the bytes as they are now.
      this.#pending.push(typeof message === "string" || message instanceof Blob ? pendingOf(message, size) : { data: message.slice(), size });
    } else if (typeof message === "string" || message instanceof Uint8Array) {
      this.#transmit(message, size);
    } else {
      this.#pending = [{ blob: message, size }];
      void this.#drain();
    }
  }

  /**
   * Start the closing handshake with `code` (1000 or 3000–4999) and
   * `reason` (at most 123 bytes of UTF-8); with neither, the close frame is
   * empty and the peer sees 1005; a reason alone closes with 1000. Throws an
   * `InvalidAccessError` `DOMException` for another code and a
   * `SyntaxError` for a longer reason. While CONNECTING, the opening is
   * abandoned (`error`, then `close` with 1006); once CLOSING or CLOSED it
   * does nothing.
   */
  close(code?: number, reason?: string): void {
    const request = closeArguments("WebSocket.close(code, reason)", code, reason);
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    if (this.#state === CONNECTING) {
      this.#state = CLOSING;
      this.#opening?.abort(domException("AbortError", "WebSocket.close() was called before the connection was established"));
      return;
    }
    this.#state = CLOSING;
    if (this.#pending !== null) this.#pending.push({ close: request });
    else this.#sendClose(request);
  }

  /** "WebSocket", as in browsers. */
  get [Symbol.toStringTag](): string {
    return "WebSocket";
  }

  // ---------------------------------------------------------------- opening

  #opened(conn: Connection, offered: string[]): void {
    this.#opening = null;
    if (this.#state !== CONNECTING) {
      // close() was called as the handshake completed.
      conn.abort();
      this.#notOpened(domException("AbortError", "WebSocket.close() was called before the connection was established"));
      return;
    }
    if (offered.length > 0 && conn.subprotocol === null) {
      // The standard (unlike RFC 6455) fails a connection that offered
      // subprotocols when the server chose none.
      conn.abort();
      this.#notOpened(
        new InvalidHandshake(`the server chose none of the subprotocols offered (${offered.join(", ")})`, { code: "WS_ERR_INVALID_SUBPROTOCOL" }),
      );
      return;
    }
    this.#conn = conn;
    this.#state = OPEN;
    this.#protocol = conn.subprotocol ?? "";
    this.#extensions = conn.response.headers["sec-websocket-extensions"] ?? "";
    this.dispatchEvent(new Event("open"));
    // Messages that came with the handshake response are handed over now, after open.
    conn.listen({
      message: (data) => this.#receive(data),
      closing: () => {
        if (this.#state === OPEN) this.#state = CLOSING;
      },
      closed: () => this.#closed(conn),
    });
  }

  #notOpened(err: unknown): void {
    this.#opening = null;
    this.#state = CLOSED;
    const message = err instanceof Error || err instanceof DOMException ? err.message : String(err);
    this.dispatchEvent(new ErrorEvent("error", { message, error: err }));
    this.dispatchEvent(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }));
  }

  // -------------------------------------------------------------- receiving

  #receive(data: Data): void {
    // "If ready state is not OPEN, then return": close() was called.
    if (this.#state !== OPEN) return;
    let value: string | ArrayBuffer | Blob;
    if (typeof data === "string") value = data;
    else if (this.#binaryType === "arraybuffer") value = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    else value = new Blob([data]);
    this.dispatchEvent(new MessageEvent("message", { data: value, origin: this.#origin }));
  }

  #closed(conn: Connection): void {
    this.#state = CLOSED;
    const { failure, closeRcvd, closeSent } = conn.core;
    // RFC 6455 §7.1.5: the code is the close frame's (1005 when it had none),
    // 1006 without one; browsers also report 1006 for a connection they failed.
    const failed = failure !== null;
    const clean = !failed && closeRcvd !== null && closeSent !== null;
    if (failed) this.dispatchEvent(new ErrorEvent("error", { message: failure.message, error: failure }));
    this.dispatchEvent(
      new CloseEvent("close", {
        wasClean: clean,
        code: failed || closeRcvd === null ? 1006 : closeRcvd.code,
        reason: failed || closeRcvd === null ? "" : closeRcvd.reason,
      }),
    );
  }

  // ---------------------------------------------------------------- sending

  /** Send now, unless the closing handshake started (then the bytes stay counted, unsent). */
  #transmit(message: string | Uint8Array, size: number): void {
    const conn = this.#conn!;
    if (conn.core.state !== "open") return;
    if (size > 0) {
      // One whenWritten per turn of the event loop for all its sends:
      // scheduled before the first send writes, it runs before the
      // connection ends its cork, so its marker goes out with them.
      if (this.#unwritten === 0) process.nextTick(endBatch, this, conn);
      this.#unwritten += size;
    }
    conn.sendNow(message);
  }

  /** The bytes of this turn's sends are written: `bufferedAmount` drops by them once they leave the socket. */
  static #endBatch(ws: WebSocket, conn: Connection): void {
    const size = ws.#unwritten;
    ws.#unwritten = 0;
    conn.whenWritten((err) => {
      if (err === null) ws.#buffered -= size;
    });
  }

  static {
    endBatch = (ws, conn) => WebSocket.#endBatch(ws, conn);
  }

  #sendClose(request: CloseRequest): void {
    const conn = this.#conn!;
    // The peer's close frame may have been answered already, or the connection failed.
    if (conn.core.state !== "open") return;
    conn.core.sendClose(request.code, request.reason);
    conn.afterInput();
  }

  /** Send what waits in `#pending`, in order, reading each Blob first. */
  async #drain(): Promise<void> {
    const queue = this.#pending!;
    while (queue.length > 0) {
      const item = queue[0]!;
      if ("blob" in item) {
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(await item.blob.arrayBuffer());
        } catch {
          // Browsers fail the connection when a Blob cannot be read.
          this.#pending = null;
          this.#conn!.fail(1011, "a Blob could not be read to be sent");
          return;
        }
        this.#transmit(bytes, item.size);
      } else if ("data" in item) {
        this.#transmit(item.data, item.size);
      } else {
        this.#sendClose(item.close);
      }
      queue.shift();
    }
    this.#pending = null;
  }
}

function pendingOf(message: string | Blob, size: number): Pending {
  return typeof message === "string" ? { data: message, size } : { blob: message, size };
}

// Web IDL constants are on the interface object and on its prototype, read-only.
for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true, writable: false, configurable: false });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true, writable: false, configurable: false });
}
