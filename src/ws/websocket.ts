/**
 * The `WebSocket` class of the `ws` API, on a wavesock {@link Connection}
 * in its event (listener) mode: one object for both ends, as in `ws` — a
 * client made with `new WebSocket(url)` (the handshake is in ./client.ts),
 * or a server's connection made by `WebSocketServer` (./server.ts).
 *
 * What it owns is the translation, event for event, in `ws`'s order:
 * messages as `Buffer`s with `isBinary` (text too, as its UTF-8 bytes:
 * the core hands them over undecoded), `binaryType`, `ping` / `pong`
 * events, `close (code, reason: Buffer)` after the last message, a peer's
 * violation as an `'error'` with `ws`'s `code` just before that `'close'`,
 * `send` callbacks called once the bytes are written, `readyState` and
 * `bufferedAmount` as `ws` counts them. The protocol — framing, masking,
 * UTF-8, limits, compression, the closing handshake — is wavesock's, unchanged.
 *
 * This file is the class: its state, getters and verbs (sending with its
 * callbacks, closing, pausing). The connection made under it at the
 * handshake's end, and the events it delivers, are in ./delivery.ts.
 *
 * Where this differs from `ws` (each with why) is listed in
 * docs/migrating-from-ws.md.
 */
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type { IncomingMessage, ClientRequest } from "node:http";
import type { Socket } from "node:net";
import type { MessageExtension } from "../extensions/types.js";
import type { Connection, HandshakeInfo } from "../node/connection.js";
import { addEventListener, defineEventAttributes, removeEventListener, kWasClean } from "./events.js";
import { checkClose, notOpen, wsError } from "./errors.js";
import { abortClient, initAsClient, type ClientOptions } from "./client.js";
import { attachConnection, startDelivery } from "./delivery.js";

/** What a message's binary data is delivered as (`ws`'s `binaryType`). */
export type BinaryType = "nodebuffer" | "arraybuffer" | "fragments" | "blob";

/** A received message as `ws` delivers it: a `Buffer`, an `ArrayBuffer`, `Buffer[]` (fragments) or a `Blob`. */
export type RawData = Buffer | ArrayBuffer | Buffer[] | Blob;

/** What `send`, `ping` and `pong` take, as in `ws`: strings, bytes, numbers, arrays of bytes, `Blob`s. */
export type WsSendable = string | Buffer | ArrayBuffer | ArrayBufferView | Blob | number | readonly number[] | readonly Uint8Array[];

/** The options of `send(data, options, cb)`. */
export interface SendOptions {
  /** Send as binary (default: true unless `data` is a string). */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated (default true). */
  compress?: boolean;
  /** False: a fragment, more of the message follows (default true). */
  fin?: boolean;
  /** Accepted for `ws` code; wavesock masks as RFC 6455 requires (client frames always). */
  mask?: boolean;
}

/** The options a server's connections take from the `WebSocketServer` (and a client from its own). */
export interface SocketOptions {
  /** Largest message in bytes; 0: no limit. Default 100 MiB, as `ws`. */
  maxPayload?: number;
  /** Answer pings automatically (default true). */
  autoPong?: boolean;
  /** Several `'message'` events may be emitted in one tick (default true). */
  allowSynchronousEvents?: boolean;
  /** Accepted for `ws` code; wavesock always validates UTF-8 (see the migration guide). */
  skipUTF8Validation?: boolean;
  /** Milliseconds to wait for the closing handshake before dropping the socket. Default 30 000. */
  closeTimeout?: number;
}

/** `ws`'s default `maxPayload`: 100 MiB. */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
const DEFAULT_CLOSE_TIMEOUT = 30_000;
const EMPTY = Buffer.alloc(0);
const BINARY_TYPES: readonly string[] = ["nodebuffer", "arraybuffer", "fragments", "blob"];

const CONNECTING = 0;
/** @internal The ready states, as numbers (for ./delivery.ts). */
export const OPEN = 1;
/** @internal */
export const CLOSING = 2;
const CLOSED = 3;

/** @internal Makes a WebSocket's connection once the handshake succeeded (the server's and the client's last step). */
export const kAttach = Symbol("wavesock.ws.attach");
/** @internal Starts the delivery of a WebSocket's events. */
export const kStart = Symbol("wavesock.ws.start");

/** A callback as `send`, `ping` and `pong` take it. */
export type SendCallback = (err?: Error | null) => void;

/**
 * A WebSocket connection with the API of the `ws` package: an
 * `EventEmitter` (`'open'`, `'message'`, `'close'`, `'error'`, `'ping'`,
 * `'pong'`, `'upgrade'`, `'unexpected-response'`, `'redirect'`) with the
 * `EventTarget`-style `addEventListener` and `on…` attributes too.
 *
 * ```ts
 * import WebSocket from "wavesock/ws";
 * const ws = new WebSocket("ws://127.0.0.1:8080");
 * ws.on("open", () => ws.send("hello"));
 * ws.on("message", (data, isBinary) => console.log(isBinary ? data : data.toString()));
 * ```
 */
export class WebSocket extends EventEmitter {
  /** The connection is not yet open. */
  static readonly CONNECTING = CONNECTING;
  /** The connection is open and ready to communicate. */
  static readonly OPEN = OPEN;
  /** The connection is in the process of closing. */
  static readonly CLOSING = CLOSING;
  /** The connection is closed. */
  static readonly CLOSED = CLOSED;
  /** The connection is not yet open. */
  declare readonly CONNECTING: 0;
  /** The connection is open and ready to communicate. */
  declare readonly OPEN: 1;
  /** The connection is in the process of closing. */
  declare readonly CLOSING: 2;
  /** The connection is closed. */
  declare readonly CLOSED: 3;

  /** @internal */ _binaryType: BinaryType = "nodebuffer";
  /** @internal */ _closeCode = 1006;
  /** @internal */ _closeFrameReceived = false;
  /** @internal */ _closeFrameSent = false;
  /** @internal */ _closeMessage: Buffer = EMPTY;
  /** @internal */ _errorEmitted = false;
  /** @internal */ _extensions = "";
  /** @internal */ _paused = false;
  /** @internal */ _protocol = "";
  /** @internal */ _readyState = CONNECTING;
  /** @internal */ _isServer: boolean;
  /** @internal */ _url: string | undefined = undefined;
  /** @internal The handshake request of a client, until the response. */
  _req: ClientRequest | null = null;
  /** @internal Redirects followed so far (client). */
  _redirects = 0;
  /** @internal */ _conn: Connection | null = null;
  /** @internal Bytes of sends refused after the close (`ws` counts them in `bufferedAmount`). */
  _bufferedAfterClose = 0;
  /** @internal */ _autoPong = true;
  /** @internal */ _closeTimeout = DEFAULT_CLOSE_TIMEOUT;
  /** @internal */ _allowSynchronousEvents = true;
  /** A fragmented message is being sent (`send(data, { fin: false })`). */
  #sendingFragments = false;
  /** Sends wait behind a Blob being read, in order. */
  #sendQueue: (() => void)[] | null = null;
  /** @internal A message was emitted this tick and allowSynchronousEvents is false: the next waits for setImmediate. */
  _deferred = false;

  /**
   * Open a connection to `address` (`ws:`, `wss:`, `http:`, `https:` or
   * `ws+unix:` URL, a string or a `URL`), offering `protocols` (a string or
   * an array). `options`: `headers`, `origin`, `handshakeTimeout`,
   * `maxPayload`, `perMessageDeflate`, `followRedirects` / `maxRedirects`,
   * `protocolVersion`, `autoPong`, `closeTimeout`, `allowSynchronousEvents`,
   * `skipUTF8Validation`, `finishRequest`, and any option of
   * `http.request()` / `https.request()` (TLS options, `agent`,
   * `createConnection`...). Throws `SyntaxError` for an invalid URL or
   * subprotocol, `RangeError` for an unsupported `protocolVersion`.
   * (`address` null: a server's connection, made by `WebSocketServer`.)
   */
  constructor(address: string | URL | null, protocols?: string | readonly string[] | ClientOptions, options?: ClientOptions) {
    super();
    let opts: SocketOptions;
    if (address !== null) {
      this._isServer = false;
      let list: readonly string[];
      if (protocols === undefined || (!Array.isArray(protocols) && typeof protocols === "object" && protocols !== null)) {
        if (protocols !== undefined) options = protocols as ClientOptions;
        const p = options?.protocols;
        list = p === undefined ? [] : Array.isArray(p) ? p : [p as string];
      } else {
        list = Array.isArray(protocols) ? (protocols as readonly string[]) : [protocols as string];
      }
      opts = initAsClient(this, address, list, options ?? {});
    } else {
      this._isServer = true;
      opts = (protocols as SocketOptions | undefined) ?? options ?? {};
    }
    this._autoPong = opts.autoPong !== false;
    this._closeTimeout = opts.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this._allowSynchronousEvents = opts.allowSynchronousEvents !== false;
  }

  /** "nodebuffer" (default), "arraybuffer", "fragments" or "blob": what binary messages are delivered as. */
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  /** Set what binary messages are delivered as from now on; other values are ignored (as in `ws`). */
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.includes(type)) this._binaryType = type;
  }

  /** Bytes queued by `send()` and not yet written to the network (framing included), as `ws` counts them. */
  get bufferedAmount(): number {
    const conn = this._conn;
    return (conn === null ? 0 : conn.socket.writableLength) + this._bufferedAfterClose;
  }

  /** The negotiated extensions' names ("permessage-deflate" or ""). */
  get extensions(): string {
    return this._extensions;
  }

  /** True while paused ({@link pause}). */
  get isPaused(): boolean {
    return this._paused;
  }

  /** The subprotocol the server selected ("" for none). */
  get protocol(): string {
    return this._protocol;
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    const state = this._readyState;
    if (state === OPEN && this._conn!.core.state !== "open") return CLOSING;
    return state;
  }

  /** The URL of the server (clients only). */
  get url(): string {
    return this._url as string;
  }

  /**
   * The TCP (or TLS) socket, once open; null before. `ws` code reads
   * `ws._socket.remoteAddress` and the like: it works the same here.
   */
  get _socket(): Socket | null {
    return this._conn === null ? null : this._conn.socket;
  }

  /** @internal For the `CloseEvent` of `addEventListener("close")`: a close frame was both sent and received. */
  get [kWasClean](): boolean {
    return this._closeFrameReceived && this._closeFrameSent;
  }

  /** `addEventListener(type, listener, { once })`: `'open'`, `'message'`, `'close'`, `'error'` with `ws`'s event objects. */
  declare addEventListener: (type: "open" | "message" | "close" | "error", listener: unknown, options?: { once?: boolean }) => void;
  /** Remove a listener added with {@link addEventListener}. */
  declare removeEventListener: (type: "open" | "message" | "close" | "error", listener: unknown) => void;
  /** The `'open'` listener set as an attribute (an `Event`), or null. */
  declare onopen: ((event: unknown) => void) | null;
  /** The `'message'` listener set as an attribute (a `MessageEvent`), or null. */
  declare onmessage: ((event: unknown) => void) | null;
  /** The `'close'` listener set as an attribute (a `CloseEvent`), or null. */
  declare onclose: ((event: unknown) => void) | null;
  /** The `'error'` listener set as an attribute (an `ErrorEvent`), or null. */
  declare onerror: ((event: unknown) => void) | null;

  // ------------------------------------------------------------ opening

  /**
   * @internal The handshake succeeded on `socket`: make the connection
   * (writing `preamble`, the server's 101, first), go OPEN and emit
   * `'open'`. Delivery starts with {@link kStart}: at once for a client,
   * after the `'connection'` callback for a server, so that listeners added
   * there get the first messages.
   */
  [kAttach](socket: Socket, info: HandshakeInfo, extensions: MessageExtension[], options: SocketOptions, preamble?: Uint8Array): Connection {
    return attachConnection(this, socket, info, extensions, options, preamble);
  }

  /** @internal Start delivering events (see {@link kAttach}); `head`: bytes that came with the handshake. */
  [kStart](head: Uint8Array): void {
    startDelivery(this, head);
  }

  /** @internal Go CLOSED and emit `'close'` (code, reason). */
  _emitClose(): void {
    this._readyState = CLOSED;
    this.emit("close", this._closeCode, this._closeMessage);
  }

  // ------------------------------------------------------------ sending

  /**
   * Send `data`: a string as text, anything else (`Buffer`, `ArrayBuffer`,
   * typed array, `DataView`, `Blob`, an array of bytes, a number as its
   * decimal string) as binary unless `options.binary` says otherwise;
   * `options.fin: false` sends a fragment (more follows), `options.compress:
   * false` skips compression. `cb(err?)` is called once the bytes are
   * written to the socket. Throws while CONNECTING; once closing, nothing is
   * sent and `cb` gets the error.
   */
  send(data: WsSendable, options?: SendOptions | SendCallback, cb?: SendCallback): void {
    if (typeof options === "function") {
      cb = options;
      options = undefined;
    }
    const state = this._readyState;
    if (state === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === "number") data = data.toString();
    const conn = this._conn;
    if (state !== OPEN || conn === null || conn.core.state !== "open") {
      this.#sendAfterClose(data, cb);
      return;
    }
    if (this.#sendQueue !== null) {
      const queued = data;
      const o = options;
      this.#sendQueue.push(() => this.#sendNow(queued, o, cb));
      return;
    }
    this.#sendNow(data, options, cb);
  }

  #sendNow(data: WsSendable, options: SendOptions | undefined, cb: SendCallback | undefined): void {
    const conn = this._conn!;
    if (conn.core.state !== "open") {
      this.#sendAfterClose(data, cb);
      return;
    }
    if (typeof Blob === "function" && data instanceof Blob) {
      this.#sendBlob(data, options, cb);
      return;
    }
    const binary = options?.binary ?? typeof data !== "string";
    const fin = options?.fin !== false;
    const core = conn.core;
    const payload: string | Uint8Array = typeof data === "string" && !binary ? data : toBuffer(data);
    if (this.#sendingFragments) {
      core.sendContinuation(payload, fin);
    } else {
      const compress = options?.compress === false ? NO_COMPRESS : undefined;
      if (binary) core.sendBinary(payload as Uint8Array, fin, compress);
      else core.sendText(payload, fin, compress);
    }
    this.#sendingFragments = !fin;
    if (cb === undefined) conn.flushOutput();
    else {
      // Written now, not on the next tick: the callback's marker must come after the message.
      conn.uncorkNow();
      afterWritten(conn.socket, cb);
    }
  }

  /** A Blob is read first; sends made meanwhile wait behind it, in order (as in `ws`). */
  #sendBlob(blob: Blob, options: SendOptions | undefined, cb: SendCallback | undefined): void {
    const queue: (() => void)[] = (this.#sendQueue = []);
    blob.arrayBuffer().then(
      (ab) => {
        this.#sendQueue = null;
        this.#sendNow(Buffer.from(ab), { ...options, binary: options?.binary ?? true }, cb);
        this.#drain(queue);
      },
      (err: unknown) => {
        this.#sendQueue = null;
        process.nextTick(() => cb?.(err as Error));
        this.#drain(queue);
      },
    );
  }

  #drain(queue: (() => void)[]): void {
    for (let i = 0; i < queue.length; i++) {
      if (this.#sendQueue !== null) {
        // Another Blob started: the rest waits behind it.
        this.#sendQueue.push(...queue.slice(i));
        return;
      }
      queue[i]!();
    }
  }

  #sendAfterClose(data: unknown, cb: SendCallback | undefined): void {
    if (data !== undefined && data !== null && data !== "") {
      this._bufferedAfterClose += typeof Blob === "function" && data instanceof Blob ? data.size : toBuffer(data as WsSendable).length;
    }
    if (cb !== undefined) process.nextTick(cb, notOpen(this.readyState));
  }

  /**
   * Send a ping (`data`: up to 125 bytes, as for `send`). `mask` is accepted
   * for `ws` code (client frames are always masked). `cb(err?)` once written.
   * Throws while CONNECTING and for data over 125 bytes.
   */
  ping(data?: WsSendable | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#control("ping", data, mask, cb);
  }

  /** Send a pong, as {@link ping} sends a ping (an unsolicited pong is a heartbeat). */
  pong(data?: WsSendable | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#control("pong", data, mask, cb);
  }

  #control(kind: "ping" | "pong", data: unknown, mask: unknown, cb: SendCallback | undefined): void {
    if (this._readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === "function") {
      cb = data as SendCallback;
      data = undefined;
    } else if (typeof mask === "function") {
      cb = mask as SendCallback;
    }
    if (typeof data === "number") data = data.toString();
    const conn = this._conn;
    if (this.readyState !== OPEN || conn === null) {
      this.#sendAfterClose(data, cb);
      return;
    }
    const bytes = data === undefined || data === null ? EMPTY : toBuffer(data as WsSendable);
    if (bytes.length > 125) throw wsError("RangeError", "The data size must not be greater than 125 bytes");
    if (kind === "ping") conn.core.sendPing(bytes);
    else conn.core.sendPong(bytes);
    if (cb === undefined) conn.flushOutput();
    else {
      // Written now, not on the next tick: the callback's marker must come after the message.
      conn.uncorkNow();
      afterWritten(conn.socket, cb);
    }
  }

  // ------------------------------------------------------------ closing

  /**
   * Start the closing handshake with `code` (none: an empty close frame, the
   * peer sees 1005) and `reason` (a string or `Buffer`, at most 123 bytes).
   * While CONNECTING, the handshake is aborted (`'error'`, then `'close'`).
   * Throws `TypeError` for a code that may not be sent, `RangeError` for a
   * reason too long.
   */
  close(code?: number, reason?: string | Buffer): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortClient(this, "WebSocket was closed before the connection was established");
      return;
    }
    if (state === CLOSING) return;
    const text = checkClose(code, reason);
    const conn = this._conn!;
    conn.core.sendClose(code, text);
    conn.afterInput();
  }

  /** Drop the connection now (`socket.destroy()`), without a closing handshake. While CONNECTING, abort it. */
  terminate(): void {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortClient(this, "WebSocket was closed before the connection was established");
      return;
    }
    this._readyState = CLOSING;
    this._conn!.socket.destroy();
  }

  /** Stop emitting messages (the socket stops being read once the read-ahead is full). No-op while CONNECTING or CLOSED. */
  pause(): void {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = true;
    this._conn!.pauseMessages(true);
  }

  /** Emit messages again after {@link pause}. */
  resume(): void {
    const state = this.readyState;
    if (state === CONNECTING || state === CLOSED) return;
    this._paused = false;
    if (!this._deferred) this._conn!.pauseMessages(false);
  }
}

for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSING", CLOSING],
  ["CLOSED", CLOSED],
] as const) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}
for (const name of ["binaryType", "bufferedAmount", "extensions", "isPaused", "protocol", "readyState", "url"]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}
defineEventAttributes(WebSocket.prototype);
Object.defineProperty(WebSocket.prototype, "addEventListener", { value: addEventListener, writable: true, configurable: true });
Object.defineProperty(WebSocket.prototype, "removeEventListener", { value: removeEventListener, writable: true, configurable: true });

/**
 * The typed events of {@link WebSocket}.
 */
export interface WebSocket {
  /** Emitted once the opening handshake succeeded. */
  on(event: "open", listener: (this: WebSocket) => void): this;
  /** A message: `data` a `Buffer` (text too: `data.toString()`) or per `binaryType`; `isBinary` false for text. */
  on(event: "message", listener: (this: WebSocket, data: RawData, isBinary: boolean) => void): this;
  /** The connection closed: the peer's close code (1005: none given; 1006: no close frame) and reason. */
  on(event: "close", listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  /** An error: the handshake failed, or the peer broke the protocol (`err.code`: `ws`'s `WS_ERR_*`). `'close'` follows. */
  on(event: "error", listener: (this: WebSocket, err: Error) => void): this;
  /** A ping or a pong arrived (pings are answered already, unless `autoPong: false`). */
  on(event: "ping" | "pong", listener: (this: WebSocket, data: Buffer) => void): this;
  /** (client) The server's 101 response, before it is checked. */
  on(event: "upgrade", listener: (this: WebSocket, response: IncomingMessage) => void): this;
  /** (client) The server answered something else than 101; without a listener, an `'error'`. */
  on(event: "unexpected-response", listener: (this: WebSocket, request: ClientRequest, response: IncomingMessage) => void): this;
  /** (client) A redirect is about to be followed (`followRedirects`). */
  on(event: "redirect", listener: (this: WebSocket, url: string, request: ClientRequest) => void): this;
  /** Any other event. */
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
  /** As {@link on}, once. */
  once(event: "message", listener: (this: WebSocket, data: RawData, isBinary: boolean) => void): this;
  /** As {@link on}, once. */
  once(event: "close", listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  /** As {@link on}, once. */
  once(event: "error", listener: (this: WebSocket, err: Error) => void): this;
  /** As {@link on}, once. */
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
}

const NO_COMPRESS = Object.freeze({ compress: false });

/** Data to send as bytes, the way `ws` converts it (`Buffer.from` for anything that is not bytes already). */
export function toBuffer(data: WsSendable): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // A `fragments` message (RawData) sent back: its bytes, where ws would make one byte per piece.
  if (Array.isArray(data) && data.length > 0 && data.every((piece) => piece instanceof Uint8Array)) return Buffer.concat(data as Uint8Array[]);
  return Buffer.from(data as string);
}

/** Call `cb` once everything written to `socket` so far has been flushed (or with the error). */
function afterWritten(socket: Socket, cb: SendCallback): void {
  if (socket.destroyed || socket.writableEnded) {
    process.nextTick(cb, wsError("Error", "The socket was closed while data was being sent"));
    return;
  }
  // A zero-length write completes, in order, once the frames before it did.
  socket.write(EMPTY, cb);
}
