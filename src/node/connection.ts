/**
 * A WebSocket connection over a Node stream socket (`net.Socket` or
 * `tls.TLSSocket`): the adapter between the sans-IO {@link Protocol} and the
 * event loop.
 *
 * The adapter loop is the sans-IO one: feed `receiveData(chunk)`, write
 * `dataToSend()`, drain `nextEvent()`, and end the socket when the core says
 * `closeTransport`. Everything that waits hangs off it: the received-message
 * queue (./inbox.ts), write water marks and the close timeout
 * (./socket-io.ts), keepalive pings (./keepalive.ts).
 *
 * What happens when input reaches the core — backpressure, and the rule
 * for closing with messages unread — is the input loop (./input-loop.ts).
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import {
  ConnectionClosed,
  InvalidState,
  closeCodeOf,
  connectionClosed,
  type CloseInfo,
} from "../errors.js";
import type { Protocol } from "../connection/protocol.js";
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import { publishClose, publishOpen, publishPong } from "./diagnostics.js";
import { ConnectionContext } from "./connection-context.js";
import { validateSendOptions } from "./options/entry-points.js";
import { checkCloseArguments, controlPayload, isBlob, isFragments, sendTypeError, toBytes } from "./payload.js";
import { DONE, Inbox, IterReader, RecvReader, iterEnd, iterResult } from "./inbox.js";
import { MessageStream, type StreamEnd } from "./message-stream.js";
import { convertMessage, validateRecvOptions, type Message, type Received, type RecvOptions, type StreamOptions } from "./recv-options.js";
import { Listening, sendNow, whenWritten } from "./listening.js";
import { streamCancelled, streamCut, streamPulled } from "./stream-feed.js";
import { afterInput, drainEvents, receive } from "./input-loop.js";
import { Heartbeat } from "./keepalive.js";
import { sendBlob, sendFragments } from "./send.js";
import { SocketIO } from "./socket-io.js";
export type { Data, BinaryData, Fragment, Sendable, ConnectionOptions, HandshakeInfo } from "./connection-types.js";
import type { ConnectionListener, ConnectionOptions, Data, HandshakeInfo, ListenOptions, Sendable, BinaryData } from "./connection-types.js";


const RESOLVED: Promise<void> = Promise.resolve();


/**
 * An open WebSocket connection. Obtained from `connect()` or passed to a
 * `serve()` handler. Read with `recv()` or `for await`, write with `send()`.
 */
export class Connection extends ConnectionContext implements AsyncIterable<Data> {
  /**
   * The underlying socket. Frames are written once per turn of the event
   * loop (one write for all that was sent in it), so bytes written here
   * directly go before the frames sent in the same turn.
   */
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
  /** @internal Called once the connection is closed (the server's bookkeeping). */
  onClosed: ((conn: Connection) => void) | null = null;

  /** @internal Messages the queue holds at most (null: unbounded). */
  readonly maxQueue: number | null;
  /** @internal The socket's reading, writing and closing (./socket-io.ts). */
  readonly io: SocketIO;
  /** @internal Received messages and the readers in line (./inbox.ts). */
  readonly inbox = new Inbox();
  /** @internal The stream the core is streaming a message to (recvStreaming; ./stream-feed.ts), if any. */
  streamReader: StreamEnd | null = null;
  /** @internal Pings and keepalive (./keepalive.ts); without keepalive, made by the first `ping()`. */
  heartbeat: Heartbeat | null = null;
  /** @internal The listener mode, when a facade took the messages (see `listen`; ./listening.ts). */
  listening: Listening | null = null;
  /** @internal The peer's close frame was reached (its event drained from the core). */
  peerCloseReached = false;
  private extensionDisposed = false;
  private sendLock: Promise<void> | null = null;
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
    // Text is decoded when it is read (or taken as bytes without a decode: recv({ text: "bytes" })).
    protocol.textAsBytes = true;
    this.io = new SocketIO(socket, this, protocol, options);
    const interval = options.pingInterval === undefined ? 20_000 : options.pingInterval;
    if (interval !== null) {
      this.heartbeat = new Heartbeat(this, interval, options.pingTimeout === undefined ? 20_000 : options.pingTimeout);
      this.heartbeat.schedule();
    }
    // A server publishes its connections' opening itself, once its handshake event is out.
    if (protocol.role === "client") publishOpen(this);
  }

  /** Round-trip time of the last ping answered, in milliseconds (0 before any). */
  get latency(): number {
    return this.heartbeat?.latency ?? 0;
  }

  /** @internal True once the socket is closed. */
  get finished(): boolean {
    return this.io.finished;
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
    return this.io.writeHigh;
  }

  /** Bytes waiting in the socket's write buffer. */
  get bufferedAmount(): number {
    return this.io.bufferedAmount;
  }

  // ----------------------------------------------------------------- reading

  /**
   * Feed bytes to the core as if they came from the socket (used for bytes
   * that arrived together with the handshake). `borrowed`: the chunk is
   * valid only until this call returns (the shared read buffer).
   * @internal
   */
  receive(chunk: Uint8Array, borrowed = false): void {
    receive(this, chunk, borrowed);
  }

  /** @internal SocketHost: the peer ended its side. */
  receiveEof(): void {
    this.core.receiveEof();
    afterInput(this);
  }

  /**
   * One turn of the adapter loop, after any input to the core (./input-loop.ts).
   * @internal
   */
  afterInput(): void {
    afterInput(this);
  }

  /**
   * Hand every message to `listener` as it is decoded instead of queueing it
   * for `recv()` (which then rejects): how the event-style facades receive.
   * Messages already queued are handed over first. Backpressure is
   * {@link pauseMessages}. The listener's `closing` comes when the peer's
   * close frame is reached, in order with the messages; its `closed` once
   * the connection is closed and every message was handed over.
   * @internal
   */
  listen(listener: ConnectionListener, options: ListenOptions = {}): void {
    if (this.listening !== null) throw new InvalidState("this connection already has a listener");
    if (this.inbox.waiting > 0 || this.streamReader !== null) throw new InvalidState("recv() or recvStreaming() is waiting on this connection");
    const l = (this.listening = new Listening(this, this.inbox, listener, options.textAsBytes === true));
    // Closed already: `closed` comes after what was received.
    if (this.finished) l.closePending = true;
    l.handOver();
  }

  /**
   * Stop (true) or restart (false) handing messages to the listener: while
   * paused, messages are decoded no further than the queue takes, then held
   * raw (the socket stops being read past READ_AHEAD), as for `recv()`.
   * @internal
   */
  pauseMessages(paused: boolean): void {
    this.listening?.pause(paused);
  }

  /**
   * Send a whole message now, without a promise and without waiting for the
   * write buffer: how the event-style facades send (their `send()` returns
   * nothing, and they keep their own order and count of bytes buffered; see
   * {@link whenWritten}). Throws `InvalidState` once closing.
   * @internal
   */
  sendNow(message: string | Uint8Array): void {
    sendNow(this, message);
  }

  /**
   * Call `written` once everything written to the socket so far has left
   * its write buffer (handed to the OS), or with an error when the socket
   * is destroyed first. One call after several sends covers them all.
   * @internal
   */
  whenWritten(written: (err: Error | null) => void): void {
    whenWritten(this, written);
  }

  /**
   * The next message: a string for text, a `Uint8Array` for binary — or as
   * `options` ask: `text: "bytes"` for a text message's UTF-8 bytes,
   * `binary: "buffer" | "arraybuffer"` for the kind of bytes (views where
   * possible, no copy); the result's type follows the options. Rejects with
   * `ConnectionClosedOK` / `ConnectionClosedError` once the connection is
   * closed and every message received before the close was returned; with
   * `signal.reason` when `options.signal` aborts first (the message that
   * comes later is kept for the next reader: nothing is lost).
   *
   * Readers are served in call order: `recv()` and `recvStreaming()` calls
   * each take the next message, in the order they were made.
   */
  recv(): Promise<Data>;
  recv<const O extends RecvOptions>(options: O): Promise<Received<O>>;
  recv(options?: RecvOptions): Promise<unknown> {
    if (this.listening !== null) return Promise.reject(new InvalidState("this connection's messages go to a listener"));
    if (options !== undefined) {
      try {
        validateRecvOptions(options, "recv");
      } catch (err) {
        return Promise.reject(err);
      }
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    const message = this.takeQueued();
    if (message !== undefined) {
      try {
        return Promise.resolve(convertMessage(message.data, message.text === true, options));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.finished && this.streamReader === null && !this.core.holding) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.inbox.wait(new RecvReader(this.inbox, options, resolve, reject)));
  }

  /** The next queued message, decoding held input as the queue empties; undefined if none waits. */
  private takeQueued(): Message | undefined {
    const inbox = this.inbox;
    if (inbox.queued === 0 && inbox.waiting === 0 && this.core.holding) this.afterInput();
    if (inbox.waiting > 0 || this.streamReader !== null) return undefined; // readers ahead come first
    const message = inbox.take();
    // Decode held input in batches: once the queue is down to a quarter.
    if (message !== undefined && this.core.holding && inbox.queued <= (this.maxQueue ?? 0) >> 2) this.afterInput();
    return message;
  }

  /**
   * The next message as it arrives, piece by piece, without reassembling it
   * (Python's `recv_streaming`): `for await (const piece of
   * ws.recvStreaming())`. Pieces of a text message are strings cut on
   * character boundaries (or bytes with `text: "bytes"`), of a binary one
   * bytes (as `binary` asks). The message is reserved now, in call order
   * with `recv()`; while its stream is not read, later messages wait behind
   * it and, past a read-ahead, the socket stops being read. `maxSize`
   * (default: the connection's) is the limit for this message; null lifts
   * it. See {@link MessageStream}. Throws `InvalidState` when a listener
   * takes the messages and a `TypeError` for bad options; the iteration
   * throws `ConnectionClosed` if the connection closes before the message ends.
   */
  recvStreaming(): MessageStream<Data>;
  recvStreaming<const O extends StreamOptions>(options: O): MessageStream<Received<O>>;
  recvStreaming(options?: StreamOptions): MessageStream<any> {
    if (this.listening !== null) throw new InvalidState("this connection's messages go to a listener");
    if (options !== undefined) validateRecvOptions(options, "recvStreaming");
    const stream = new MessageStream<unknown>(this, options);
    if (stream.settled) return stream; // an aborted signal: nothing reserved
    const message = this.takeQueued();
    if (message !== undefined) stream.take(message);
    else if (this.finished && this.streamReader === null && !this.core.holding) stream.fail(this.closedError());
    else {
      this.inbox.wait(stream);
      this.afterInput();
    }
    return stream;
  }

  /** @internal StreamOwner: the stream's reader took pieces. */
  streamPulled(stream: StreamEnd): void {
    streamPulled(this, stream);
  }

  /** @internal StreamOwner: the stream's reader gave up. */
  streamCancelled(stream: StreamEnd): void {
    streamCancelled(this, stream);
  }

  /**
   * Nobody will read (the server handler returned): drop the queue and what
   * the core holds; data frames from now on are discarded.
   * @internal
   */
  discardReceived(): void {
    this.inbox.clear();
    this.core.discardReceived();
    this.afterInput();
  }

  /**
   * Messages until the connection closes: ends on a normal close, throws
   * `ConnectionClosedError` otherwise. (A plain iterator object rather than
   * an async generator: no suspended generator per idle connection; and
   * each step is one promise that resolves with the iterator result, not
   * `recv().then(...)`: a promise and a microtask fewer per message.)
   */
  [Symbol.asyncIterator](): AsyncIterator<Data> {
    return {
      next: () => this.nextResult(),
      return: () => Promise.resolve(DONE),
    };
  }

  /** `recv()` as an iterator step: the next message, or done after a normal close. */
  private nextResult(): Promise<IteratorResult<Data>> {
    if (this.listening !== null) return Promise.reject(new InvalidState("this connection's messages go to a listener"));
    const message = this.takeQueued();
    if (message !== undefined) {
      try {
        return Promise.resolve(iterResult(convertMessage(message.data, message.text === true, undefined) as Data));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.finished && this.streamReader === null && !this.core.holding) return iterEnd(this.closedError());
    return new Promise((resolve, reject) => this.inbox.wait(new IterReader(resolve, reject)));
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
        else if (isBlob(message)) return sendBlob(this, message, options);
        else if (isFragments(message)) return sendFragments(this, message, options);
        else throw sendTypeError(message);
      }
    } catch (err) {
      return Promise.reject(this.sendError(err));
    }
    this.messagesOut++;
    this.flushOutput();
    return this.writable();
  }

  /**
   * Run `task` with the send lock held: other sends wait until it settles.
   * @internal
   */
  withSendLock(task: () => Promise<void>): Promise<void> {
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
   * The core has output: it is written on the next tick, with everything
   * else queued in this turn of the event loop (one write per connection).
   * @internal (broadcast queues frames on the core, then calls this)
   */
  flushOutput(): void {
    this.io.scheduleFlush();
  }

  /** @internal Write bytes that are not frames (the server's 101 response), before the frames that follow. */
  writeRaw(bytes: Uint8Array): void {
    this.io.writeRaw(bytes);
  }

  /** @internal Write what is queued now rather than on the next tick. */
  uncorkNow(): void {
    this.io.flushNow();
  }

  /**
   * A promise that resolves once the write buffer is under the high water mark.
   * @internal
   */
  writable(): Promise<void> {
    return this.io.writable();
  }

  /**
   * The error a failed send raises: `ConnectionClosed` once closing.
   * @internal
   */
  sendError(err: unknown): unknown {
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
    return (this.heartbeat ??= new Heartbeat(this, null, null)).ping(payload);
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

  /** @internal SocketHost: the error that `recv`/`send` raise once closed. */
  closedError(): ConnectionClosed {
    const core = this.core;
    return connectionClosed(core.closeRcvd, core.closeSent, {
      rcvdThenSent: core.closeRcvdThenSent,
      cause: core.failure ?? this.io.socketError ?? undefined,
    });
  }

  /** @internal SocketHost: the socket closed: settle everything that waits. */
  socketClosed(): void {
    if (this.finished) return;
    if (!this.core.eofReceived) this.core.receiveEof();
    // Deliver anything still in the core's queue before closing the books
    // (what the core still holds is decoded as recv() asks for it).
    drainEvents(this);
    this.io.finished = true;
    this.io.clearPauses();
    // Errors are built only when somebody waits: an error captures a stack trace.
    let err: ConnectionClosed | null = null;
    const closedError = () => (err ??= this.closedError());
    this.heartbeat?.stop(closedError);
    // A stream still streaming reads on what the core holds; readers behind it wait for it.
    if (this.streamReader !== null && !this.core.streamingMessage) streamCut(this);
    if (this.streamReader === null && this.inbox.waiting > 0) this.inbox.rejectWaiters(closedError());
    if (this.io.drainWaiting > 0) this.io.rejectDrainWaiters(closedError());
    this.disposeExtension();
    publishClose(this, performance.now());
    this.resolveClosed?.();
    this.topicHub?.connectionClosed(this); // subscriptions end with the connection
    this.onClosed?.(this);
    this.listening?.connectionClosed();
  }

  /** @internal Release the extension's state once nothing is left to decode with it. */
  disposeExtension(): void {
    if (this.extensionDisposed || this.core.holding) return;
    this.extensionDisposed = true;
    this.core.extension?.dispose?.();
  }

  /** The close frames exchanged, once closed: what was received and sent. */
  get closeFrames(): { rcvd: CloseInfo | null; sent: CloseInfo | null } {
    return { rcvd: this.core.closeRcvd, sent: this.core.closeSent };
  }

}
