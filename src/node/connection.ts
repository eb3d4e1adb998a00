/**
 * A WebSocket connection over a Node stream socket (`net.Socket` or
 * `tls.TLSSocket`): the adapter between the sans-IO {@link Protocol} and the
 * event loop.
 *
 * The adapter loop is the sans-IO one: feed `receiveData(chunk)`, write
 * `dataToSend()`, drain `nextEvent()`, and end the socket when the core says
 * `closeTransport`. Everything that waits lives here: received-message queue
 * and its backpressure (`maxQueue`), write water marks, keepalive pings, the
 * close timeout.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import {
  ConnectionClosed,
  ConnectionClosedOK,
  InvalidState,
  closeCodeOf,
  connectionClosed,
  type CloseInfo,
} from "../errors.js";
import type { Protocol, ProtocolEvent } from "../connection/protocol.js";
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import { hubOf, type ResumeResult, type TopicHub } from "./topics.js";
import { publishClose, publishError, publishOpen, publishPing, publishPong } from "./diagnostics.js";
import { ConnectionContext } from "./connection-context.js";
import { validateSendOptions } from "./options/entry-points.js";
import { checkCloseArguments, controlPayload, fragmentData, isBlob, isFragments, sendTypeError, toBytes } from "./payload.js";

/** A received message: a string for text, bytes for binary. */
export type Data = string | Uint8Array;

/** Bytes as `send`, `ping` and `pong` take them: any view's bytes (a `Buffer`, any typed array, a `DataView`) or a buffer's. */
export type BinaryData = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** One fragment of a message sent in fragments. */
export type Fragment = string | BinaryData | Blob;

/**
 * What `send` accepts: a string (text), bytes (binary), a `Blob` (binary,
 * read first), or an (async) iterable of fragments sent as one fragmented
 * message (text if the first fragment is a string).
 */
export type Sendable = string | BinaryData | Blob | Iterable<Fragment> | AsyncIterable<Fragment>;

/** Options shared by server and client connections. */
export interface ConnectionOptions {
  /** Received messages buffered before the socket stops being read (backpressure). Default 16; null: unbounded. */
  maxQueue?: number | null;
  /** `send` waits while more than this many bytes wait to be written. Default 64 KiB. */
  writeHighWaterMark?: number;
  /** ...until the write buffer drops to this many bytes. Default a quarter of the high mark. */
  writeLowWaterMark?: number;
  /** Milliseconds between keepalive pings; null turns keepalive off. Default 20 000. */
  pingInterval?: number | null;
  /** Milliseconds to wait for the pong before failing with 1011; null: wait forever. Default 20 000. */
  pingTimeout?: number | null;
  /** Milliseconds to wait for the closing handshake and the TCP close before dropping the socket. Default 10 000. */
  closeTimeout?: number;
}

/** What the handshake learnt, handed to a new {@link Connection}. */
export interface HandshakeInfo {
  /** The opening handshake request (the client's). */
  request: HttpRequest;
  /** The opening handshake response (the server's 101). */
  response: HttpResponse;
  /** The negotiated subprotocol, or null. */
  subprotocol: string | null;
}

type Waiter<T> = { resolve: (value: T) => void; reject: (err: unknown) => void };
type PingWaiter = Waiter<number> & { sentAt: number };

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * An open WebSocket connection. Obtained from `connect()` or passed to a
 * `serve()` handler. Read with `recv()` or `for await`, write with `send()`.
 */
export class Connection extends ConnectionContext implements AsyncIterable<Data> {
  /** The underlying socket. */
  readonly socket: Socket;
  /**
   * The sans-IO state machine. (Named `core`, not `protocol`: in `ws` and in
   * browsers `protocol` is the negotiated subprotocol.)
   * @internal
   */
  readonly core: Protocol;
  /** The opening handshake request. */
  readonly request: HttpRequest;
  /** The opening handshake response. */
  readonly response: HttpResponse;
  /** The negotiated subprotocol, or null. */
  readonly subprotocol: string | null;
  /** Round-trip time of the last ping answered, in milliseconds (0 before any). */
  latency = 0;
  /** @internal Called once the connection is closed (the server's bookkeeping). */
  onClosed: ((conn: Connection) => void) | null = null;

  private readonly maxQueue: number | null;
  private readonly writeHigh: number;
  private readonly writeLow: number;
  private readonly pingInterval: number | null;
  private readonly pingTimeout: number | null;
  private readonly closeTimeoutMs: number;

  private queue: Data[] = [];
  private queueHead = 0;
  private recvWaiters: Waiter<Data>[] = [];
  private drainWaiters: Waiter<void>[] = [];
  private pingWaiters: Map<string, PingWaiter> | null = null;
  private paused = false;
  private corked = false;
  private sendLock: Promise<void> | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private socketError: Error | null = null;
  private finished = false;
  // Created on first use: an idle connection nobody waits on keeps no promise.
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  /** @internal Made by {@link connect} and by a server for its handler. */
  constructor(socket: Socket, protocol: Protocol, info: HandshakeInfo, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.core = protocol;
    this.request = info.request;
    this.response = info.response;
    this.subprotocol = info.subprotocol;
    this.maxQueue = options.maxQueue === undefined ? 16 : options.maxQueue;
    this.writeHigh = options.writeHighWaterMark ?? 64 * 1024;
    this.writeLow = options.writeLowWaterMark ?? Math.floor(this.writeHigh / 4);
    this.pingInterval = options.pingInterval === undefined ? 20_000 : options.pingInterval;
    this.pingTimeout = options.pingTimeout === undefined ? 20_000 : options.pingTimeout;
    this.closeTimeoutMs = options.closeTimeout ?? 10_000;
    this.onWritten = this.onWritten.bind(this);

    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("end", () => this.receiveEof());
    socket.on("error", (err) => {
      this.socketError ??= err;
    });
    socket.on("close", () => this.finish());
    // No 'drain' listener: senders held by the high water mark are woken by
    // the callbacks of the writes that filled the buffer (`onWritten`).
    this.scheduleKeepalive();
    // A server publishes its connections' opening itself, once its handshake event is out.
    if (protocol.role === "client") publishOpen(this);
  }

  /** Resolves once the TCP connection is closed. Never rejects. */
  get closed(): Promise<void> {
    if (this.closedPromise === null) {
      this.closedPromise = this.finished ? Promise.resolve() : new Promise((resolve) => (this.resolveClosed = resolve));
    }
    return this.closedPromise;
  }

  /** The peer's address, e.g. `127.0.0.1` or `::1` (read from the socket on first use). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  /** "open", "closing" or "closed", as in RFC 6455. */
  get state(): "open" | "closing" | "closed" {
    return this.finished ? "closed" : this.core.state === "open" ? "open" : "closing";
  }

  /**
   * The close code that says why the connection ended, as on
   * {@link ConnectionClosed.closeCode}: the code we sent when we failed the
   * connection (1009 for a message over `maxSize`...), else the peer's (1005
   * for a close frame without one), else 1006 once closed without a close
   * frame. Undefined while open, and while closing until one of them is known.
   */
  get closeCode(): number | undefined {
    if (this.state === "open") return undefined;
    const { closeRcvd, closeSent, failure } = this.core;
    const code = closeCodeOf(closeRcvd, closeSent, failure);
    return code !== 1006 || this.finished ? code : undefined;
  }

  /** The reason that goes with {@link closeCode}; undefined when it is. */
  get closeReason(): string | undefined {
    const code = this.closeCode;
    if (code === undefined) return undefined;
    const { closeRcvd, closeSent } = this.core;
    if (closeRcvd !== null && closeRcvd.code === code) return closeRcvd.reason;
    return closeSent !== null && closeSent.code === code ? closeSent.reason : "";
  }

  /** `send` waits while more bytes than this wait to be written. */
  get writeHighWaterMark(): number {
    return this.writeHigh;
  }

  /** Bytes waiting in the socket's write buffer. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  // ----------------------------------------------------------------- reading

  /**
   * Feed bytes to the core as if they came from the socket (used for bytes
   * that arrived together with the handshake).
   * @internal
   */
  receive(chunk: Uint8Array): void {
    this.core.receiveData(chunk);
    this.afterInput();
  }

  private receiveEof(): void {
    this.core.receiveEof();
    this.afterInput();
  }

  /** One turn of the adapter loop, after any input to the core. */
  private afterInput(): void {
    const p = this.core;
    if (p.hasDataToSend) this.flushOutput();
    let ev: ProtocolEvent | undefined;
    while ((ev = p.nextEvent()) !== undefined) {
      if (ev.type === "message") this.deliver(ev.data);
      else if (ev.type === "pong") this.onPong(ev.data);
      else if (ev.type === "ping") publishPing(this, "in", ev.data);
    }
    if (p.failurePending) {
      // Let the application answer the messages that came with the
      // violation (its microtasks run first), then fail the connection.
      setImmediate(() => {
        p.commitFailure();
        this.afterInput();
      });
    }
    if (p.closeTransport) this.endTransport();
    else if (p.closeExpected) this.startCloseTimer();
  }

  private deliver(data: Data): void {
    this.messagesIn++;
    const w = this.recvWaiters;
    if (w.length !== 0) {
      w.shift()!.resolve(data);
      return;
    }
    this.queue.push(data);
    if (this.maxQueue !== null && !this.paused && this.queue.length - this.queueHead >= this.maxQueue) {
      // Backpressure: stop reading until the application catches up.
      this.paused = true;
      this.socket.pause();
    }
  }

  /**
   * The next message: a string for text, a `Uint8Array` for binary. Rejects
   * with `ConnectionClosedOK` / `ConnectionClosedError` once the connection
   * is closed and every message received before the close was returned.
   */
  recv(): Promise<Data> {
    if (this.queueHead < this.queue.length) {
      const data = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = "";
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      }
      if (this.paused && this.queue.length - this.queueHead <= ((this.maxQueue ?? 0) >> 2)) {
        this.paused = false;
        if (!this.finished) this.socket.resume();
      }
      return Promise.resolve(data);
    }
    if (this.finished) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.recvWaiters.push({ resolve, reject }));
  }

  /**
   * Messages until the connection closes: ends on a normal close, throws
   * `ConnectionClosedError` otherwise. (A plain iterator object rather than
   * an async generator: one promise per message and no suspended generator
   * per idle connection.)
   */
  [Symbol.asyncIterator](): AsyncIterator<Data> {
    return {
      next: () => this.recv().then(iterResult, iterEnd),
      return: () => Promise.resolve(DONE),
    };
  }

  // ----------------------------------------------------------------- writing

  /**
   * Send a message: a string as text; bytes as binary (a `Buffer`, any
   * typed array or `DataView` — the bytes of the view —, an `ArrayBuffer`);
   * a `Blob` as binary once read (messages keep their order); or an
   * iterable / async iterable of those as one fragmented message. Resolves
   * when the bytes are handed to the socket and its buffer is under the high
   * water mark. Rejects with `ConnectionClosed` once the connection is
   * closing, and with a `TypeError` (code `WS_ERR_INVALID_ARGUMENT`) for
   * anything else than the above.
   */
  send(message: Sendable, options?: { compress?: boolean }): Promise<void> {
    if (this.sendLock !== null) return this.sendLock.then(() => this.send(message, options));
    try {
      if (options !== undefined) validateSendOptions(options);
      if (typeof message === "string") this.core.sendText(message, true, options);
      else if (message instanceof Uint8Array) this.core.sendBinary(message, true, options);
      else {
        const bytes = toBytes(message);
        if (bytes !== null) this.core.sendBinary(bytes, true, options);
        else if (isBlob(message)) return this.sendBlob(message, options);
        else if (isFragments(message)) return this.sendFragments(message);
        else throw sendTypeError(message);
      }
    } catch (err) {
      return Promise.reject(this.sendError(err));
    }
    this.messagesOut++;
    this.flushOutput();
    return this.writable();
  }

  /** A Blob is read before it is sent; later sends wait for it, so messages keep their order. */
  private sendBlob(blob: Blob, options?: { compress?: boolean }): Promise<void> {
    return this.withSendLock(async () => {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      try {
        this.core.sendBinary(bytes, true, options);
      } catch (err) {
        throw this.sendError(err);
      }
      this.messagesOut++;
      this.flushOutput();
      await this.writable();
    });
  }

  private sendFragments(fragments: Iterable<unknown> | AsyncIterable<unknown>): Promise<void> {
    return this.withSendLock(async () => {
      let started = false;
      let index = 0;
      const put = async (chunk: unknown) => {
        let data = fragmentData(chunk, index++);
        if (isBlob(data)) data = new Uint8Array(await data.arrayBuffer());
        if (!started) {
          if (typeof data === "string") this.core.sendText(data, false);
          else this.core.sendBinary(data, false);
          started = true;
        } else {
          this.core.sendContinuation(data, false);
        }
        this.flushOutput();
      };
      try {
        if (Symbol.asyncIterator in fragments) {
          for await (const chunk of fragments) {
            await put(chunk);
            await this.writable();
          }
        } else {
          for (const chunk of fragments) await put(chunk);
        }
        if (started) {
          this.core.sendContinuation(new Uint8Array(0), true);
          this.messagesOut++;
          this.flushOutput();
        }
      } catch (err) {
        // A message cut off mid-way can't be finished: fail rather than leave the peer waiting (1011).
        if (started && this.core.state === "open") {
          this.core.fail(1011, "error while sending a fragmented message");
          this.afterInput();
        }
        throw this.sendError(err);
      }
      await this.writable();
    });
  }

  /** Run `task` with the send lock held: other sends wait until it settles. */
  private withSendLock(task: () => Promise<void>): Promise<void> {
    const done = task();
    const lock = done.then(
      () => undefined,
      () => undefined,
    );
    this.sendLock = lock;
    void lock.then(() => {
      if (this.sendLock === lock) this.sendLock = null;
    });
    return done;
  }

  /**
   * Write what the core produced; frames written in one turn of the event
   * loop go out in one `writev`.
   * @internal (broadcast queues frames on the core, then calls this)
   */
  flushOutput(): void {
    this.write(this.core.dataToSend());
  }

  /** @internal Write bytes that are not frames (the server's 101 response), corked with what follows. */
  writeRaw(bytes: Uint8Array): void {
    this.write([bytes]);
  }

  private write(bufs: Uint8Array[]): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (!this.corked && bufs.length > 0) {
      this.corked = true;
      s.cork();
      process.nextTick(uncork, this);
    }
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      if (s.writableLength + b.length > this.writeLow) s.write(b, this.onWritten);
      else s.write(b);
    }
  }

  /** @internal Ends the cork started by `flush`. */
  uncorkNow(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** A promise that resolves once the write buffer is under the high water mark. */
  private writable(): Promise<void> {
    if (this.socket.writableLength <= this.writeHigh) return RESOLVED;
    if (this.finished) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private onWritten(): void {
    if (this.drainWaiters.length !== 0 && this.socket.writableLength <= this.writeLow) this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private sendError(err: unknown): unknown {
    return err instanceof InvalidState && this.core.state !== "open" ? this.closedError() : err;
  }

  // ------------------------------------------------------------ ping / pong

  /**
   * Send a ping; resolves with the round-trip time in milliseconds when the
   * matching pong arrives. A pong also answers every earlier ping. With no
   * data, 4 random bytes are sent; data is a string or bytes, at most 125
   * bytes (`RangeError` beyond).
   */
  ping(data?: string | BinaryData): Promise<number> {
    let payload: Uint8Array;
    try {
      payload = data === undefined ? crypto.getRandomValues(Buffer.allocUnsafe(4)) : controlPayload("ping", data);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString("latin1");
    const waiters = (this.pingWaiters ??= new Map());
    if (waiters.has(key)) return Promise.reject(new InvalidState("already waiting for a pong with the same data"));
    try {
      this.core.sendPing(payload);
    } catch (err) {
      return Promise.reject(this.sendError(err));
    }
    publishPing(this, "out", payload);
    this.flushOutput();
    return new Promise((resolve, reject) => waiters.set(key, { resolve, reject, sentAt: performance.now() }));
  }

  /** Send an unsolicited pong (a one-way heartbeat, §5.5.3). Data: a string or bytes, at most 125 bytes. */
  pong(data: string | BinaryData = new Uint8Array(0)): Promise<void> {
    try {
      const payload = controlPayload("pong", data);
      this.core.sendPong(payload);
      publishPong(this, "out", payload);
    } catch (err) {
      return Promise.reject(this.sendError(err));
    }
    this.flushOutput();
    return RESOLVED;
  }

  private onPong(data: Uint8Array): void {
    publishPong(this, "in", data);
    const waiters = this.pingWaiters;
    if (waiters === null) return;
    const key = Buffer.from(data.buffer, data.byteOffset, data.length).toString("latin1");
    if (!waiters.has(key)) return; // unsolicited pong: ignored (§5.5.3)
    const now = performance.now();
    // Pings are answered in order: a pong acknowledges every earlier ping too.
    for (const [k, w] of waiters) {
      waiters.delete(k);
      const rtt = now - w.sentAt;
      w.resolve(rtt);
      if (k === key) {
        this.latency = rtt;
        break;
      }
    }
  }

  private scheduleKeepalive(): void {
    if (this.pingInterval === null || this.finished) return;
    this.keepaliveTimer = setTimeout(() => void this.keepalive(), this.pingInterval);
    this.keepaliveTimer.unref();
  }

  private async keepalive(): Promise<void> {
    if (this.core.state !== "open") return;
    const pong = this.ping().then(
      () => true,
      () => false,
    );
    if (this.pingTimeout !== null) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.pingTimeout!);
        timer.unref();
      });
      const ok = await Promise.race([pong, timeout]);
      clearTimeout(timer);
      if (!ok) {
        if (this.core.state === "open") {
          this.core.fail(1011, "keepalive ping timeout");
          publishError(this, "keepalive", this.core.failure);
          this.afterInput();
        }
        return;
      }
    } else if (!(await pong)) {
      return;
    }
    this.scheduleKeepalive();
  }

  // ----------------------------------------------------------------- closing

  /**
   * Start the closing handshake with `code` and `reason` (default 1000) and
   * wait until the TCP connection is closed. Closing a closed connection
   * does nothing. Rejects with `TypeError` for a code that is not a number
   * or a reason that is not a string, and with `RangeError` for a code a
   * close frame may not carry (allowed: 1000–1003, 1007–1014, 3000–4999) or
   * a reason over 123 bytes of UTF-8.
   */
  async close(code = 1000, reason = ""): Promise<void> {
    checkCloseArguments(code, reason);
    if (this.core.state === "open") {
      this.core.sendClose(code, reason);
      this.afterInput();
    }
    await this.closed;
  }

  /**
   * `await using ws = await connect(uri)`: the connection is closed (1000)
   * when the block ends, like Python's `async with connect(uri) as ws`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Fail the connection at once with `code` (e.g. 1001 going away): send a
   * close frame if none was sent and end the TCP connection without waiting
   * for the peer's.
   */
  fail(code: number, reason = ""): void {
    if (this.finished) return;
    this.core.fail(code, reason);
    this.afterInput();
  }

  /** Drop the TCP connection now, without a closing handshake. */
  abort(): void {
    this.socket.destroy();
  }

  private startCloseTimer(): void {
    if (this.closeTimer !== null || this.finished) return;
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
    this.closeTimer.unref();
  }

  private endTransport(): void {
    const s = this.socket;
    if (!s.writableEnded && !s.destroyed) {
      if (this.corked) this.uncorkNow();
      s.end();
    }
    // The peer should now close its side; if it doesn't, drop the connection.
    this.startCloseTimer();
  }

  /** The error that `recv`/`send` raise once closed. */
  private closedError(): ConnectionClosed {
    const core = this.core;
    return connectionClosed(core.closeRcvd, core.closeSent, {
      rcvdThenSent: core.closeRcvdThenSent,
      cause: core.failure ?? this.socketError ?? undefined,
    });
  }

  /** The socket closed: settle everything that waits. */
  private finish(): void {
    if (this.finished) return;
    if (!this.core.eofReceived) this.core.receiveEof();
    // Deliver anything still in the core's queue before closing the books.
    let ev: ProtocolEvent | undefined;
    while ((ev = this.core.nextEvent()) !== undefined) {
      if (ev.type === "message" || ev.type === "fragment") this.deliver(ev.data);
    }
    this.finished = true;
    if (this.keepaliveTimer !== null) clearTimeout(this.keepaliveTimer);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.recvWaiters.length + this.drainWaiters.length + (this.pingWaiters?.size ?? 0) > 0) {
      // Built only when somebody waits: an error captures a stack trace.
      const err = this.closedError();
      for (const w of this.recvWaiters.splice(0)) w.reject(err);
      for (const w of this.drainWaiters.splice(0)) w.reject(err);
      if (this.pingWaiters !== null) {
        for (const w of this.pingWaiters.values()) w.reject(err);
        this.pingWaiters.clear();
      }
    }
    this.core.extension?.dispose?.();
    publishClose(this, performance.now());
    this.resolveClosed?.();
    this.topicHub?.connectionClosed(this); // subscriptions end with the connection
    this.onClosed?.(this);
  }

  /** The close frames exchanged, once closed: what was received and sent. */
  get closeFrames(): { rcvd: CloseInfo | null; sent: CloseInfo | null } {
    return { rcvd: this.core.closeRcvd, sent: this.core.closeSent };
  }

  // ------------------------------------------------------------------ topics
  // Server connections only; the logic lives in ./topics.ts.

  /** @internal The server's topics (set by the server; null on client connections). */
  topicHub: TopicHub | null = null;

  /** Subscribe to `topic`: `server.publish(topic, ...)` reaches this connection. False if already subscribed. */
  subscribe(topic: string): boolean {
    return hubOf(this).subscribe(this, topic);
  }

  /** Stop receiving `topic`. False if not subscribed. */
  unsubscribe(topic: string): boolean {
    return hubOf(this).unsubscribe(this, topic);
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return hubOf(this).isSubscribed(this, topic);
  }

  /** The topics this connection is subscribed to (a copy). */
  get topics(): string[] {
    return this.topicHub === null ? [] : this.topicHub.topicsOf(this);
  }

  /** Publish to every subscriber of `topic`, on every server instance, except this connection. */
  publish(topic: string, message: Data | ArrayBuffer, options?: { compress?: boolean }): void {
    hubOf(this).publish(topic, message, options, this);
  }

  /**
   * Subscribe to `topic` (if not yet) and first receive what was published
   * after `lastId` (an id the `topics.envelope` put in a message this client
   * saw; null: the whole history kept), then the live messages — each once,
   * in order. Needs a backplane with history.
   */
  resume(topic: string, lastId: string | null): Promise<ResumeResult> {
    try {
      return hubOf(this).resume(this, topic, lastId);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function uncork(conn: Connection): void {
  conn.uncorkNow();
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function iterResult(value: Data): IteratorYieldResult<Data> {
  return { done: false, value };
}

function iterEnd(err: unknown): IteratorReturnResult<undefined> {
  if (err instanceof ConnectionClosedOK) return DONE;
  throw err;
}
